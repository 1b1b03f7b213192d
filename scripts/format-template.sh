#!/usr/bin/env bash
# Maintainers' helper: format the template's Python files the way the generated project's
# ruff config wants. Bakes the default project, runs ruff there, copies formatted files back
# when the template file has no Jinja in it, and names the Jinja files that still differ.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
python=${PYTHON:-"${XDG_CACHE_HOME:-$HOME/.cache}/cookiecutter-django-dramatiq/venv/bin/python"}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
"$python" -m cookiecutter "$root" --no-input -o "$out" >/dev/null
project="$out/my_project"
cp -r "$project" "$out/before"
(cd "$project" && "$python" -m ruff check --fix -q . || true; "$python" -m ruff format -q .)
cd "$root/{{cookiecutter.project_slug}}"
find . -name "*.py" | while read -r file; do
  baked="$project/${file//\{\{cookiecutter.project_slug\}\}/my_project}"
  [ -f "$baked" ] || continue
  other_jinja=$(sed 's/{{ cookiecutter.project_slug }}//g' "$file" | grep -c '{{\|{%' || true)
  if grep -q '{{ cookiecutter.project_slug }}' "$file" && [ "$other_jinja" == 0 ]; then
    formatted=$(sed 's/my_project/{{ cookiecutter.project_slug }}/g' "$baked")
    if [ "$formatted" != "$(cat "$file")" ]; then
      printf '%s\n' "$formatted" > "$file" && echo "formatted: $file"
    fi
  elif grep -q '{{\|{%' "$file"; then
    before="$out/before/${file//\{\{cookiecutter.project_slug\}\}/my_project}"
    cmp -s "$before" "$baked" || echo "ruff changed it (has Jinja, edit by hand): $file"
  elif ! cmp -s "$file" "$baked"; then
    cp "$baked" "$file" && echo "formatted: $file"
  fi
done
