"""The MLflow tracking store and model registry, as every step sees them.

- :mod:`.location`: where the registry is (configuration and environment only, never the run
  folder), and whether it outlives the job;
- :mod:`.connection`: reaching a server with bounded retries, errors that name the URI;
- :mod:`.store`: the embedded sqlite store, and pointing MLflow's module-level API at a URI;
- :mod:`.client`: versions, aliases, registration;
- :mod:`.tags`: the one set of tag names modelci writes;
- :mod:`.evidence`: the compare verdict recorded on a model version, which promote re-reads;
- :mod:`.history`: who moved an alias when, and which versions it pointed at before;
- :mod:`.orphans`: versions a crashed train registered but never recorded.
"""
