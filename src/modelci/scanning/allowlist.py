"""The allowlist: exact (module, name) pairs a fitted scikit-learn model may make its
loader import. Everything else is a finding; nothing here is a list of banned names.

The rule every entry obeys: calling it with ANY arguments built from constants and other
allowlisted objects can only construct data (or compute on it). It must not import, read
or write files, run code, evaluate strings, or hand back an arbitrary attribute or callable
(so never ``getattr``, ``functools.partial``, ``operator.*``, ``pickle.loads``,
``numpy.load``, ``eval``, ...). That closes the set: a pickle can only call what is listed,
and what is listed can only call what is listed. Methods the unpickler itself invokes on
allowlisted objects (``__setstate__``, ``append``/``extend``, ``__setitem__``) must obey
the same rule, and do for the types below.

Where it comes from (see docs/scan.md):
- standard library, numpy, scipy: the reviewed tables below, each entry with its reason;
- scikit-learn: every class ``sklearn.utils.all_estimators()`` lists in the INSTALLED
  scikit-learn, at its defining module (``cls.__module__``, ``cls.__qualname__``), which
  is how pickle, cloudpickle and skops name it, plus SKLEARN_HELPERS: the reviewed
  internal types and reconstructors that fitted estimators pickle.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable

from modelci.scanning.findings import Global


def _pairs(module: str, *names: str) -> frozenset[Global]:
    return frozenset(Global(module, name) for name in names)


#: builtins that only build plain data from their arguments
BUILTINS = _pairs(
    "builtins",
    "object",  # copyreg._reconstructor's base for plain classes
    "set",  # protocol < 4 pickles sets as set(list)
    "frozenset",
    "slice",  # ColumnTransformer column selections
    "complex",
    "bytes",  # protocol < 3 pickles bytes as bytes(_codecs.encode(str, "latin1"))
    "bytearray",  # protocol < 5 pickles bytearrays as bytearray(bytes)
    "range",
    # type objects stored as estimator parameters (dtype=float, ...)
    "int",
    "float",
    "bool",
    "str",
    "list",
    "tuple",
    "dict",
)

#: other standard-library helpers the pickle protocol itself emits
STDLIB = (
    _pairs(
        "copyreg",
        # protocol 0/1 objects: base.__new__(cls) then base.__init__(obj, state), where cls
        # and base are themselves globals the allowlist has already checked
        "_reconstructor",
    )
    | _pairs(
        "_codecs",
        # protocol < 3 bytes: encode(str, "latin1"); a codec name can only select a module
        # of the standard encodings package
        "encode",
    )
    | _pairs("collections", "OrderedDict", "defaultdict")
)

#: numpy arrays, dtypes, scalars, masked arrays and random generators
NUMPY = (
    _pairs("numpy", "ndarray", "dtype", "matrix", "memmap")
    | _pairs(
        "numpy",
        # scalar types, stored as dtype= parameters or as numpy scalars' types
        *[
            "bool",
            "bool_",
            "int8",
            "int16",
            "int32",
            "int64",
            "uint8",
            "uint16",
            "uint32",
            "uint64",
            "intp",
            "uintp",
            "float16",
            "float32",
            "float64",
            "longdouble",
            "complex64",
            "complex128",
            "clongdouble",
            "str_",
            "bytes_",
            "object_",
            "void",
            "datetime64",
            "timedelta64",
        ],
    )
    # array / scalar reconstructors, under numpy 2's and numpy 1's module names
    | _pairs("numpy._core.multiarray", "_reconstruct", "scalar")
    | _pairs("numpy.core.multiarray", "_reconstruct", "scalar")
    | _pairs("numpy._core.numeric", "_frombuffer")
    | _pairs("numpy.core.numeric", "_frombuffer")
    # GridSearchCV.cv_results_ holds masked arrays
    | _pairs("numpy.ma.core", "MaskedArray", "_mareconstruct")
    | _pairs("numpy.ma", "MaskedArray")
    | _pairs("numpy.matrixlib.defmatrix", "matrix")
    | _pairs("numpy._core.memmap", "memmap")
    # random generators estimators keep (random_state=np.random.RandomState(...))
    | _pairs(
        "numpy.random._pickle",
        "__randomstate_ctor",
        "__generator_ctor",
        "__bit_generator_ctor",
    )
    | _pairs("numpy.random.mtrand", "RandomState")
    | _pairs("numpy.random._generator", "Generator")
    | _pairs("numpy.random._mt19937", "MT19937")
    | _pairs("numpy.random._pcg64", "PCG64", "PCG64DXSM")
    | _pairs("numpy.random._philox", "Philox")
    | _pairs("numpy.random._sfc64", "SFC64")
    | _pairs("numpy.random.bit_generator", "SeedSequence", "__pyx_unpickle_SeedSequence")
)

#: element-wise math a FunctionTransformer or TransformedTargetRegressor is commonly
#: given (func=np.log1p, inverse_func=np.expm1): pure functions of their inputs
NUMPY_UFUNCS = _pairs(
    "numpy",
    "log",
    "log1p",
    "log2",
    "log10",
    "exp",
    "exp2",
    "expm1",
    "sqrt",
    "square",
    "absolute",
    # FeatureAgglomeration's default pooling_func: calls the array's own mean
    "mean",
)

#: scipy sparse matrices and arrays (fitted attributes and transform outputs), and the
#: B-splines SplineTransformer keeps (with the array-API asarray they hold a reference to)
SCIPY = (
    frozenset(
        Global(f"scipy.sparse._{kind}", f"{kind}_{suffix}")
        for kind in ("csr", "csc", "coo", "bsr", "dia", "dok", "lil")
        for suffix in ("matrix", "array")
    )
    | _pairs("scipy.interpolate._bsplines", "BSpline")
    | _pairs("scipy._lib.array_api_compat.numpy._aliases", "asarray")
)

#: joblib's placeholder for an array whose bytes follow it in the file
JOBLIB = _pairs("joblib.numpy_pickle", "NumpyArrayWrapper")

#: scikit-learn internals that fitted estimators pickle, reviewed one by one. Classes are
#: data holders (their constructors and __setstate__ store arrays and parameters); the
#: functions are pure computations on arrays that estimators keep as parameters
#: (score_func=f_classif, pooling_func=np.mean, scoring="balanced_accuracy", ...);
#: ``__pyx_unpickle_X`` and ``newObj`` only instantiate the class they are given (which
#: the allowlist has checked) and check it.
SKLEARN_HELPERS = (
    # losses and links of the linear models and gradient boosting
    _pairs(
        "sklearn._loss._loss",
        *[
            "CyAbsoluteError",
            "CyExponentialLoss",
            "CyHalfBinomialLoss",
            "CyHalfGammaLoss",
            "CyHalfMultinomialLoss",
            "CyHalfPoissonLoss",
            "CyHalfSquaredError",
            "CyHalfTweedieLoss",
            "CyHalfTweedieLossIdentity",
            "CyHuberLoss",
            "CyPinballLoss",
            "__pyx_unpickle_CyHalfMultinomialLoss",
        ],
    )
    | _pairs(
        "sklearn._loss.loss",
        *[
            "AbsoluteError",
            "ExponentialLoss",
            "HalfBinomialLoss",
            "HalfBinomialLossArrayAPI",
            "HalfGammaLoss",
            "HalfMultinomialLoss",
            "HalfMultinomialLossArrayAPI",
            "HalfPoissonLoss",
            "HalfPoissonLossArrayAPI",
            "HalfSquaredError",
            "HalfTweedieLoss",
            "HalfTweedieLossIdentity",
            "HuberLoss",
            "PinballLoss",
        ],
    )
    | _pairs(
        "sklearn._loss.link",
        "Interval",
        "IdentityLink",
        "LogLink",
        "LogitLink",
        "HalfLogitLink",
        "MultinomialLogit",
    )
    | _pairs(
        "sklearn.linear_model._sgd_fast",
        "Hinge",
        "ModifiedHuber",
        "SquaredHinge",
        "EpsilonInsensitive",
        "SquaredEpsilonInsensitive",
    )
    # trees, forests, boosting
    | _pairs("sklearn.tree._tree", "Tree")
    | _pairs("sklearn.ensemble._hist_gradient_boosting.binning", "_BinMapper")
    | _pairs("sklearn.ensemble._hist_gradient_boosting.predictor", "TreePredictor")
    # neighbors: trees and distance metrics (PyFuncDistance, which calls a Python
    # function, is left out on purpose)
    | _pairs("sklearn.neighbors._kd_tree", "KDTree", "KDTree32", "KDTree64", "newObj")
    | _pairs("sklearn.neighbors._ball_tree", "BallTree", "BallTree32", "BallTree64", "newObj")
    | _pairs(
        "sklearn.metrics._dist_metrics",
        "newObj",
        *(
            f"{metric}Distance{bits}"
            for bits in (32, 64)
            for metric in [
                "BrayCurtis",
                "Canberra",
                "Chebyshev",
                "Dice",
                "Euclidean",
                "Hamming",
                "Haversine",
                "Jaccard",
                "Kulsinski",
                "Mahalanobis",
                "Manhattan",
                "Matching",
                "Minkowski",
                "RogersTanimoto",
                "RussellRao",
                "SEuclidean",
                "SokalMichener",
                "SokalSneath",
            ]
        ),
    )
    # clustering
    | _pairs("sklearn.cluster._birch", "_CFNode", "_CFSubcluster")
    | _pairs("sklearn.cluster._bisect_k_means", "_BisectingTree")
    | _pairs("sklearn.cluster._kmeans", "_kmeans_single_lloyd", "_kmeans_single_elkan")
    # Gaussian processes
    | _pairs("sklearn.gaussian_process._gpc", "_BinaryGaussianProcessClassifierLaplace")
    | _pairs(
        "sklearn.gaussian_process.kernels",
        *[
            "CompoundKernel",
            "ConstantKernel",
            "DotProduct",
            "ExpSineSquared",
            "Exponentiation",
            "Hyperparameter",
            "Matern",
            "PairwiseKernel",
            "Product",
            "RBF",
            "RationalQuadratic",
            "Sum",
            "WhiteKernel",
        ],
    )
    # calibration, multiclass, neural networks
    | _pairs(
        "sklearn.calibration",
        "_CalibratedClassifier",
        "_SigmoidCalibration",
        "_TemperatureScaling",
    )
    | _pairs("sklearn.multiclass", "_ConstantPredictor")
    | _pairs("sklearn.neural_network._stochastic_optimizers", "AdamOptimizer", "SGDOptimizer")
    # feature selection score functions
    | _pairs(
        "sklearn.feature_selection._univariate_selection",
        "chi2",
        "f_classif",
        "f_oneway",
        "f_regression",
        "r_regression",
    )
    | _pairs(
        "sklearn.feature_selection._mutual_info", "mutual_info_classif", "mutual_info_regression"
    )
    # model selection: splitters, scorers and the metrics scorers wrap
    | _pairs(
        "sklearn.model_selection._split",
        *[
            "GroupKFold",
            "GroupShuffleSplit",
            "KFold",
            "LeaveOneGroupOut",
            "LeaveOneOut",
            "LeavePGroupsOut",
            "LeavePOut",
            "PredefinedSplit",
            "RepeatedKFold",
            "RepeatedStratifiedKFold",
            "ShuffleSplit",
            "StratifiedGroupKFold",
            "StratifiedKFold",
            "StratifiedShuffleSplit",
            "TimeSeriesSplit",
            "_CVIterableWrapper",
        ],
    )
    | _pairs(
        "sklearn.metrics._scorer",
        "_Scorer",
        "_CurveScorer",
        "_PassthroughScorer",
        "_MultimetricScorer",
        "positive_likelihood_ratio",
        "negative_likelihood_ratio",
    )
    | _pairs(
        "sklearn.metrics._classification",
        *[
            "accuracy_score",
            "balanced_accuracy_score",
            "brier_score_loss",
            "d2_brier_score",
            "d2_log_loss_score",
            "f1_score",
            "jaccard_score",
            "log_loss",
            "matthews_corrcoef",
            "precision_score",
            "recall_score",
        ],
    )
    | _pairs(
        "sklearn.metrics._ranking",
        "average_precision_score",
        "roc_auc_score",
        "top_k_accuracy_score",
    )
    | _pairs(
        "sklearn.metrics._regression",
        *[
            "d2_absolute_error_score",
            "explained_variance_score",
            "max_error",
            "mean_absolute_error",
            "mean_absolute_percentage_error",
            "mean_gamma_deviance",
            "mean_poisson_deviance",
            "mean_squared_error",
            "mean_squared_log_error",
            "median_absolute_error",
            "r2_score",
            "root_mean_squared_error",
            "root_mean_squared_log_error",
        ],
    )
    | _pairs(
        "sklearn.metrics.cluster._supervised",
        *[
            "adjusted_mutual_info_score",
            "adjusted_rand_score",
            "completeness_score",
            "fowlkes_mallows_score",
            "homogeneity_score",
            "mutual_info_score",
            "normalized_mutual_info_score",
            "rand_score",
            "v_measure_score",
        ],
    )
    # containers and metadata routing records
    | _pairs("sklearn.utils._bunch", "Bunch")
    | _pairs(
        "sklearn.utils._metadata_requests",
        "MetadataRequest",
        "MetadataRouter",
        "MethodMapping",
        "MethodMetadataRequest",
        "MethodPair",
        "RouterMappingPair",
    )
)

STATIC = BUILTINS | STDLIB | NUMPY | NUMPY_UFUNCS | SCIPY | JOBLIB | SKLEARN_HELPERS

#: MLflow ``python_function`` loader modules trusted by default (MLflow imports the
#: module and calls its ``_load_pyfunc``): a separate list, since allowing
#: ``mlflow.sklearn._load_pyfunc`` inside a pickle would let it load an unscanned file
DEFAULT_LOADERS = frozenset({"mlflow.sklearn"})


@functools.cache
def sklearn_estimators() -> frozenset[Global]:
    """Every estimator class the installed scikit-learn lists, where it is defined."""
    from modelci.process import collector_paused

    try:
        with collector_paused():
            from sklearn.utils import all_estimators

            listed = all_estimators()
    except ImportError:  # no scikit-learn here: none of its classes are allowed
        return frozenset()
    return frozenset(
        Global(cls.__module__, cls.__qualname__) for _, cls in listed if isinstance(cls, type)
    )


def default_allowlist() -> frozenset[Global]:
    """The whole default allowlist (the scikit-learn part computed from the installed
    scikit-learn)."""
    return STATIC | sklearn_estimators()


class Allowlist:
    """The default allowlist plus the user's ``scan.allow``; scikit-learn's part is only
    computed when a scanned file names a scikit-learn module."""

    def __init__(self, extra: Iterable[Global] = ()) -> None:
        self.extra = frozenset(extra)
        self._static = STATIC | self.extra

    def __contains__(self, g: object) -> bool:
        if g in self._static:
            return True
        if isinstance(g, Global) and (g.module == "sklearn" or g.module.startswith("sklearn.")):
            return g in sklearn_estimators()
        return False

    def names_dotted(self, dotted: str) -> bool:
        """Whether ``module.name`` (how skops spells a type) is an allowlisted pair."""
        module, _, name = dotted.rpartition(".")
        while module:
            if Global(module, name) in self:
                return True
            module, _, head = module.rpartition(".")
            name = f"{head}.{name}"
        return False
