"""The pieces of the train step: estimator loading, preprocessing, split, metrics, tracking.

Everything here imports scikit-learn or MLflow lazily or is only imported by the step, so
``modelci --help`` never pays for them.
"""
