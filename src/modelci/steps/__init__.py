"""Pipeline steps: each a ``run(config, runfolder) -> StepResult`` library function."""
