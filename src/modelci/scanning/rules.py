"""The scanner's rules: stable ids, the severity each carries, and what to tell the user.

A rule's severity is fixed, so a SARIF consumer, a JUnit report and the gate agree on it:
``error`` fails the scan, ``warning`` is reported and does not.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from modelci.results import Severity


class Rule(StrEnum):
    UNSAFE_GLOBAL = "unsafe-global"
    UNRESOLVED_GLOBAL = "unresolved-global"
    EXTENSION_CODE = "extension-code"
    PERSISTENT_ID = "persistent-id"
    INDIRECT_CALL = "indirect-call"
    BUILD_DUNDER = "build-dunder"
    BUILD_GLOBAL = "build-global"
    JOBLIB_AMBIGUOUS = "joblib-ambiguous"
    UNPARSEABLE = "unparseable"
    LIMIT_EXCEEDED = "limit-exceeded"
    UNSUPPORTED = "unsupported-format"
    POLYGLOT = "polyglot"
    NESTED_PICKLE = "nested-pickle"
    TRAILING_DATA = "trailing-data"
    PYTHON_CODE = "python-code"
    MODULE_SHADOWING = "module-shadowing"
    NATIVE_CODE = "native-code"
    UNKNOWN_BINARY = "unknown-binary"
    SYMLINK = "symlink"
    SYMLINK_OUTSIDE = "symlink-outside"
    SPECIAL_FILE = "special-file"
    MLFLOW_LOADER = "mlflow-loader"
    MLFLOW_FORMAT = "mlflow-format"
    MLFLOW_MISSING = "mlflow-missing"
    MLFLOW_FLAVOR = "mlflow-flavor"

    @property
    def info(self) -> RuleInfo:
        return RULES[self]

    @property
    def severity(self) -> Severity:
        return RULES[self].severity


@dataclass(frozen=True)
class RuleInfo:
    severity: Severity
    #: one sentence: what the rule finds
    description: str
    #: what to do about a finding
    help: str


_ALLOW_HELP = (
    "If you trust this object, add 'module:name' to scan.allow in modelci.yaml; otherwise "
    "do not load the file."
)

RULES: dict[Rule, RuleInfo] = {
    Rule.UNSAFE_GLOBAL: RuleInfo(
        "error",
        "The file makes its loader import a (module, name) that is not on the allowlist: "
        "loading it can run that object with arguments the file chooses.",
        _ALLOW_HELP,
    ),
    Rule.UNRESOLVED_GLOBAL: RuleInfo(
        "error",
        "A STACK_GLOBAL takes its module or name from something other than a constant "
        "string, so what it imports cannot be known without running the pickle.",
        "Do not load the file: honest picklers always write constant names.",
    ),
    Rule.EXTENSION_CODE: RuleInfo(
        "error",
        "An EXT1/EXT2/EXT4 opcode imports whatever the loading process registered under a "
        "number in copyreg's extension registry; it cannot be checked statically.",
        "Re-save the model without copyreg extension codes.",
    ),
    Rule.PERSISTENT_ID: RuleInfo(
        "error",
        "A PERSID/BINPERSID opcode hands a value to the loader's persistent_load hook, "
        "whose behaviour depends on the program that loads the file.",
        "Re-save the model with a plain pickler (no persistent ids).",
    ),
    Rule.INDIRECT_CALL: RuleInfo(
        "error",
        "The pickle calls something that is not a named global (the result of another "
        "call or a constructed object), which an allowlist cannot vouch for.",
        "Do not load the file.",
    ),
    Rule.BUILD_DUNDER: RuleInfo(
        "error",
        "A BUILD sets a dunder attribute (e.g. __setstate__, __reduce__) on an object, the "
        "trick that turns a later BUILD into a call of attacker-chosen code.",
        "Do not load the file.",
    ),
    Rule.BUILD_GLOBAL: RuleInfo(
        "error",
        "A BUILD sets attributes on an imported class or function itself, changing what "
        "later code (the loader's, or the model's) runs.",
        "Do not load the file.",
    ),
    Rule.JOBLIB_AMBIGUOUS: RuleInfo(
        "error",
        "joblib and pickle.load could read the file differently: bytes joblib takes as raw "
        "array data would run as pickle opcodes under pickle.load, or joblib's "
        "NumpyArrayWrapper is used in a way that leaves where array data starts unknown.",
        "Re-save the model with joblib >= 1.2 (honest files never do this).",
    ),
    Rule.UNPARSEABLE: RuleInfo(
        "error",
        "The scanner cannot parse the stream to its end, so it cannot vouch for it "
        "(a loader may still run the part before the damage).",
        "Re-save the model; a truncated or damaged file must not be loaded.",
    ),
    Rule.LIMIT_EXCEEDED: RuleInfo(
        "error",
        "Decoding the file went past a scan limit (decompressed size, nesting depth or "
        "archive members): a decompression bomb, or a model larger than the limits.",
        "If the model is honest and this large, raise the scan limits.",
    ),
    Rule.UNSUPPORTED: RuleInfo(
        "error",
        "The file is in a format the scanner recognises but cannot decode here (e.g. lz4 "
        "without the lz4 module, an encrypted zip member).",
        "Install what the message names, or save the model in a supported format.",
    ),
    Rule.POLYGLOT: RuleInfo(
        "error",
        "The file is at once a zip archive and another format, so different loaders "
        "read different content from it.",
        "Do not load the file.",
    ),
    Rule.NESTED_PICKLE: RuleInfo(
        "warning",
        "A pickle is embedded in another stream (a bytes constant, an object-dtype .npy); "
        "it was scanned, and its own findings are reported separately.",
        "Nothing to do if no error is reported for the embedded stream.",
    ),
    Rule.TRAILING_DATA: RuleInfo(
        "warning",
        "Bytes follow the last pickle that are not a pickle; pickle.load never reads them.",
        "Check where the extra bytes come from.",
    ),
    Rule.PYTHON_CODE: RuleInfo(
        "warning",
        "Python code ships with the model; it runs if the loader imports it (MLflow puts "
        "a model's code/ folder on sys.path).",
        "Review the code: it is part of what you deploy.",
    ),
    Rule.MODULE_SHADOWING: RuleInfo(
        "error",
        "A Python file or package in the model has the name of a standard-library or "
        "allowlisted module: with its folder on sys.path it replaces that module, so even "
        "allowlisted globals would run the model's code.",
        "Rename the module.",
    ),
    Rule.NATIVE_CODE: RuleInfo(
        "error",
        "A native executable or shared library (ELF, Mach-O, PE) ships with the model.",
        "Remove it from the model folder.",
    ),
    Rule.UNKNOWN_BINARY: RuleInfo(
        "warning",
        "A binary file of no format the scanner knows; it was not checked.",
        "Make sure nothing loads it, or remove it from the model folder.",
    ),
    Rule.SYMLINK: RuleInfo(
        "warning",
        "A symbolic link inside the scanned folder; it is not followed (its target is "
        "scanned where it lies).",
        "Prefer plain files in model folders.",
    ),
    Rule.SYMLINK_OUTSIDE: RuleInfo(
        "error",
        "A symbolic link points outside the scanned folder or nowhere: a loader would read "
        "content the scan never saw.",
        "Replace the link with the file it points to.",
    ),
    Rule.SPECIAL_FILE: RuleInfo(
        "error",
        "A device, socket or FIFO in the model folder cannot be scanned.",
        "Remove it from the model folder.",
    ),
    Rule.MLFLOW_LOADER: RuleInfo(
        "error",
        "MLmodel names a python_function loader_module that is not allowlisted: MLflow "
        "imports it and calls its _load_pyfunc when it loads the model.",
        "If you trust it, add '<loader_module>:_load_pyfunc' to scan.allow.",
    ),
    Rule.MLFLOW_FORMAT: RuleInfo(
        "error",
        "MLmodel claims a serialization format the model file's content does not have, "
        "or one MLflow does not know.",
        "Save the model again with mlflow so MLmodel and the file agree.",
    ),
    Rule.MLFLOW_MISSING: RuleInfo(
        "error",
        "A file or folder MLmodel names is missing, or lies outside the model folder.",
        "Save the model again with mlflow.",
    ),
    Rule.MLFLOW_FLAVOR: RuleInfo(
        "warning",
        "MLmodel has a flavor whose loading the scanner does not model; its files were "
        "scanned by content only.",
        "Review how that flavor loads the model.",
    ),
}
