#!/bin/sh
# wandb_standin.sh: a stand-in for the `wandb` CLI's `sync` command, for
# tests. Install it as an executable named `wandb` on the PATH of the
# machine where the sync runs (tests copy it and prepend its directory to
# PATH in the test profile's shell setup lines).
#
# README: the contract
# --------------------
# The real CLI is a Python package that cannot be installed on the machines
# the tests run on (no PyPI). sync_wandb relies only on what this file
# checks and prints, and this file keeps to what `wandb sync --help` and
# wandb's sources document; change both together.
#
# Invocation: wandb sync [OPTIONS] [PATH]...   (click: `--opt value`,
#   `--opt=value`, `-p value`, `-pvalue`; `--` ends the options)
#   --entity, -e TEXT      entity to scope to
#   --project, -p TEXT     project to upload to
#   --id TEXT              run id to upload to (one PATH only)
#   --sync-all, --include-offline/--no-include-offline,
#   --include-online/--no-include-online, --include-synced/--no-include-synced,
#   --mark-synced/--no-mark-synced (default: mark), --view, --verbose,
#   --append, --skip-console, --clean, --clean-force,
#   --sync-tensorboard/--no-sync-tensorboard
#   --job_type, --include-globs, --exclude-globs, --clean-old-hours,
#   --show, --replace-tags, --ignore TEXT
#   Unknown option: "Error: No such option: X" after the usage lines, exit 2.
#   An option without its value: "Error: Option 'X' requires an argument.",
#   exit 2. A PATH that does not exist: "Error: Invalid value for
#   '[PATH]...': Path 'P' does not exist.", exit 2.
#   `wandb --version` prints the version; other commands are refused.
#
# Environment, as wandb reads it:
#   WANDB_API_KEY   required. Unset: "wandb: ERROR api_key not configured
#                   (no-tty). call wandb.login(key=[your_api_key])", exit 1.
#   WANDB_ENTITY, WANDB_PROJECT, WANDB_BASE_URL: used when the options are
#                   absent; then the [default] section of ./wandb/settings
#                   and ${WANDB_CONFIG_DIR:-$HOME/.config/wandb}/settings
#                   (entity, project, base_url); then the fallbacks: entity
#                   "standin-default-entity" (the real CLI asks the server
#                   for the key's default entity), project "uncategorized",
#                   base URL https://api.wandb.ai. So a stale default that
#                   wins shows in the printed URL.
#   The app URL is the base URL with "://api." made "://"
#   (https://api.wandb.ai -> https://wandb.ai).
#
# Output, per PATH (a run directory with exactly one run-<id>.wandb, or that
# file itself), as the real one prints it:
#   Find logs at: <cwd>/wandb/debug-cli.<user>.log      (once, first)
#   Syncing: <app url>/<entity>/<project>/runs/<id> ... done.
#   Skipping directory: <path>      (not exactly one run-*.wandb in it)
# and with --mark-synced it creates run-<id>.wandb.synced beside the log.
#
# Checks a real wandb would not make, each failing with exit 86 and a line
# starting "wandb-standin:" on stderr:
#   - the API key appears in the argv of this process or of any ancestor
#     (/proc/<pid>/cmdline): it must travel in the environment only;
#   - WANDB_STANDIN_KEY_SHA256, when set, differs from the key's sha256
#     (then the real server's answer is imitated instead: "wandb: ERROR
#     Error while calling W&B API: user is not logged in (<Response [401]>)",
#     exit 1).
# Test hooks (not wandb's):
#   WANDB_STANDIN_RECORD  append one record per invocation to this file:
#                         "argv=<words joined by |>", "cwd=", "key_sha256=",
#                         "entity_env=", "project_env=", "base_url_env=",
#                         "slurm_job=" (SLURM_JOB_ID: whether srun ran it)
#                         ("<unset>" when unset), then "---". The key itself
#                         is never written.
#   WANDB_STANDIN_SLEEP   seconds to wait before "done." (timeout tests).
#
# POSIX sh; needs sha256sum, tr and sed. The key is only ever handled by
# shell builtins (printf, case), never passed as an argument.

set -u

usage() {
  printf '%s\n' "Usage: wandb sync [OPTIONS] [PATH]..." \
    "Try 'wandb sync --help' for help." "" >&2
}
usage_error() {
  usage
  printf 'Error: %s\n' "$1" >&2
  exit 2
}
fail() {
  printf 'wandb-standin: %s\n' "$1" >&2
  exit 86
}

if [ $# -ge 1 ] && [ "$1" = "--version" ]; then
  echo "wandb, version 0.17.0 (hpc-mcp stand-in)"
  exit 0
fi
if [ $# -lt 1 ] || [ "$1" != "sync" ]; then
  printf '%s\n' "Usage: wandb [OPTIONS] COMMAND [ARGS]..." \
    "Try 'wandb --help' for help." "" "Error: No such command '${1:-}'." >&2
  exit 2
fi
shift
all_words="sync"
for w in "$@"; do all_words="$all_words|$w"; done

opt_entity="" opt_project="" opt_id="" mark=1 sync_all=0 npaths=0
has_entity=0 has_project=0 has_id=0
paths_file=$(mktemp) || exit 1
trap 'rm -f "$paths_file"' EXIT

# One option value: from "--opt=value" ($2 set) or the next word.
while [ $# -gt 0 ]; do
  word=$1
  shift
  case $word in
    --)
      for p in "$@"; do printf '%s\n' "$p" >>"$paths_file"; npaths=$((npaths + 1)); done
      break ;;
    --*=*) name=${word%%=*} value=${word#*=} inline=1 ;;
    -[pe]?*) name=$(printf '%s' "$word" | cut -c1-2) value=${word#??} inline=1 ;;
    -*) name=$word value="" inline=0 ;;
    *) printf '%s\n' "$word" >>"$paths_file"; npaths=$((npaths + 1)); continue ;;
  esac
  case $name in
    --entity|-e|--project|-p|--id|--job_type|--include-globs|--exclude-globs|\
    --clean-old-hours|--show|--replace-tags|--ignore)
      if [ $inline -eq 0 ]; then
        [ $# -gt 0 ] || usage_error "Option '$name' requires an argument."
        value=$1
        shift
      fi
      case $name in
        --entity|-e) opt_entity=$value has_entity=1 ;;
        --project|-p) opt_project=$value has_project=1 ;;
        --id) opt_id=$value has_id=1 ;;
      esac ;;
    --mark-synced) mark=1 ;;
    --no-mark-synced) mark=0 ;;
    --sync-all) sync_all=1 ;;
    --include-offline|--no-include-offline|--include-online|--no-include-online|\
    --include-synced|--no-include-synced|--view|--verbose|--append|--skip-console|\
    --clean|--clean-force|--sync-tensorboard|--no-sync-tensorboard)
      [ $inline -eq 0 ] || usage_error "Option '$name' does not take a value." ;;
    --help)
      usage
      exit 0 ;;
    *) usage_error "No such option: $name" ;;
  esac
done

# click checks PATH arguments (type=click.Path(exists=True)) first.
while IFS= read -r p; do
  [ -e "$p" ] || usage_error "Invalid value for '[PATH]...': Path '$p' does not exist."
done <"$paths_file"

if [ -z "${WANDB_API_KEY:-}" ]; then
  echo "wandb: ERROR api_key not configured (no-tty). call wandb.login(key=[your_api_key])" >&2
  exit 1
fi

# The key must not be in any command line from here up to init.
pid=$$
depth=0
while [ -n "$pid" ] && [ "$pid" -gt 1 ] 2>/dev/null && [ $depth -lt 64 ]; do
  if [ -r "/proc/$pid/cmdline" ]; then
    cmdline=$(tr '\000' ' ' <"/proc/$pid/cmdline")
    case $cmdline in
      *"$WANDB_API_KEY"*) fail "the API key is in the command line of process $pid" ;;
    esac
  fi
  pid=$(sed -n 's/^PPid:[[:space:]]*//p' "/proc/$pid/status" 2>/dev/null)
  depth=$((depth + 1))
done

key_sha=$(printf '%s' "$WANDB_API_KEY" | sha256sum | cut -d' ' -f1)
if [ -n "${WANDB_STANDIN_RECORD:-}" ]; then
  {
    printf 'argv=%s\n' "$all_words"
    printf 'cwd=%s\n' "$(pwd)"
    printf 'key_sha256=%s\n' "$key_sha"
    printf 'entity_env=%s\n' "${WANDB_ENTITY-<unset>}"
    printf 'project_env=%s\n' "${WANDB_PROJECT-<unset>}"
    printf 'base_url_env=%s\n' "${WANDB_BASE_URL-<unset>}"
    printf 'slurm_job=%s\n' "${SLURM_JOB_ID-<unset>}"
    printf '%s\n' "---"
  } >>"$WANDB_STANDIN_RECORD"
fi
if [ -n "${WANDB_STANDIN_KEY_SHA256:-}" ] && [ "$key_sha" != "$WANDB_STANDIN_KEY_SHA256" ]; then
  echo "wandb: ERROR Error while calling W&B API: user is not logged in (<Response [401]>)" >&2
  exit 1
fi

# A [default] key of a wandb settings file.
setting() {
  for f in "./wandb/settings" "${WANDB_CONFIG_DIR:-${HOME:-/nonexistent}/.config/wandb}/settings"; do
    [ -r "$f" ] || continue
    v=$(sed -n "/^\[default\]/,/^\[/s/^[[:space:]]*$1[[:space:]]*=[[:space:]]*//p" "$f" | head -n 1)
    if [ -n "$v" ]; then
      printf '%s' "$v"
      return
    fi
  done
}

if [ $has_entity -eq 1 ]; then entity=$opt_entity
elif [ -n "${WANDB_ENTITY+x}" ]; then entity=$WANDB_ENTITY
else entity=$(setting entity); entity=${entity:-standin-default-entity}; fi
if [ $has_project -eq 1 ]; then project=$opt_project
elif [ -n "${WANDB_PROJECT+x}" ]; then project=$WANDB_PROJECT
else project=$(setting project); project=${project:-uncategorized}; fi
if [ -n "${WANDB_BASE_URL+x}" ]; then base_url=$WANDB_BASE_URL
else base_url=$(setting base_url); base_url=${base_url:-https://api.wandb.ai}; fi
app_url=$(printf '%s' "$base_url" | sed 's#://api\.#://#')

if [ $has_id -eq 1 ] && [ $npaths -ne 1 ]; then
  usage_error "id can only be set for a single run."
fi
if [ $npaths -eq 0 ] && [ $sync_all -eq 0 ]; then
  usage_error "Missing argument 'PATH...' (or pass --sync-all)."
fi

echo "Find logs at: $(pwd)/wandb/debug-cli.${USER:-$(id -un)}.log"
[ -d wandb ] && echo "sync $(date -u +%Y-%m-%dT%H:%M:%S)" >>"wandb/debug-cli.${USER:-$(id -un)}.log"

while IFS= read -r p; do
  if [ -d "$p" ]; then
    n=0 log=""
    for f in "$p"/run-*.wandb; do
      [ -f "$f" ] || continue
      n=$((n + 1))
      log=$f
    done
    if [ $n -ne 1 ]; then
      echo "Skipping directory: $p"
      continue
    fi
  else
    log=$p
  fi
  name=${log##*/}
  id=${name#run-}
  id=${id%.wandb}
  [ $has_id -eq 1 ] && id=$opt_id
  printf 'Syncing: %s/%s/%s/runs/%s ... ' "$app_url" "$entity" "$project" "$id"
  [ -n "${WANDB_STANDIN_SLEEP:-}" ] && sleep "$WANDB_STANDIN_SLEEP"
  echo "done."
  [ $mark -eq 1 ] && : >"$log.synced"
done <"$paths_file"
exit 0
