//! Stable diagnostic codes of the loader (`M0xx`). Codes are never reused; a retired code stays
//! listed.

dbplan_diagnostics::codes! {
    YAML_SYNTAX = "M001", "invalid YAML";
    DUPLICATE_KEY = "M002", "duplicate key";
    UNKNOWN_KIND = "M003", "unknown kind";
    API_VERSION = "M004", "wrong apiVersion";
    UNKNOWN_FIELD = "M005", "unknown field";
    WRONG_TYPE = "M006", "wrong type";
    MISSING_FIELD = "M007", "missing required field";
    BAD_ENUM = "M008", "value not allowed";
    OUT_OF_RANGE = "M009", "value out of range";
    BAD_FORMAT = "M010", "invalid format";
    DUPLICATE_RESOURCE = "M011", "duplicate resource";
    NOT_A_MANIFEST = "M012", "not a manifest document";
    READ_ERROR = "M013", "cannot read input";
    NO_MANIFESTS = "M014", "no manifests found";
    INVALID_VALUE = "M015", "invalid value";
    PLACEHOLDER = "M016", "unexpanded placeholder";
    CONFLICTING_FIELDS = "M017", "conflicting fields";
    OUTSIDE_ROOTS = "M018", "input outside the given paths";
    NOT_A_REGULAR_FILE = "M019", "not a regular file";
    INPUT_TOO_LARGE = "M020", "input too large";
    YAML_LIMIT = "M021", "YAML limit exceeded";
    INVALID_INPUT_LIMIT = "M022", "invalid input limit";
    SECRET_ENV_REFUSED = "M023", "secret variable not allowed";
    FILE_OUTSIDE_PROJECT = "M024", "file outside the project";
    FILE_IN_STATE = "M025", "file inside the state directory";
    FILE_EXISTS = "M026", "would overwrite an existing file";
}
