#!/usr/bin/env python3
"""Checks the GitHub Actions workflow in docs/ci.md without GitHub: its structure, its
artifact and matrix wiring, and, given a matrix file, that the generate step run with each
entry's environment asks ci-job for every pair exactly once.

Usage: check-ci-workflow.py DOC [MATRIX.json]
Prints "ok: ..." lines and exits 0, or prints "error: ..." and exits 1.
"""
import fnmatch
import json
import os
import re
import subprocess
import sys
import tempfile

import yaml

EXPR = re.compile(r"\$\{\{\s*(.*?)\s*\}\}")
# Tools a script may call, and the Debian package that brings each one.
TOOLS = {"curl": "curl", "rsync": "rsync", "deltagen": "./deltagen_*_amd64.deb"}
# Always there: bash builtins and coreutils of the base image.
BASE = {"apt-get", "echo", "test", "mkdir", "bash", "for", "do", "done", "only", "plan", "api",
        "exit", "cat", "chmod", "mv"}


def fail(message):
    print(f"error: {message}")
    sys.exit(1)


def workflow_block(doc):
    blocks = re.findall(r"^```yaml\n(.*?)^```", open(doc, encoding="utf-8").read(), re.M | re.S)
    if len(blocks) != 1:
        fail(f"{doc} should hold exactly one ```yaml block, not {len(blocks)}")
    return blocks[0]


def needs_of(job):
    n = job.get("needs", [])
    return [n] if isinstance(n, str) else list(n)


def all_needs(jobs, name):
    seen, todo = set(), needs_of(jobs[name])
    while todo:
        n = todo.pop()
        if n not in seen:
            seen.add(n)
            todo += needs_of(jobs[n])
    return seen


def commands(script):
    """The first word of each command in a bash script (lines joined at backslashes)."""
    words = []
    for line in script.replace("\\\n", " ").splitlines():
        for part in re.split(r"&&|\|\||;|\||\$\(|\(", line):
            part = part.strip()
            if not part or part.startswith("#"):
                continue
            first = part.split()[0]
            if "=" in first or first[0] in "\"{}>)-":
                continue
            words.append(first)
    return words


def check_structure(wf):
    # PyYAML reads the key "on" as True.
    if "workflow_dispatch" not in (wf.get("on") or wf.get(True) or {}):
        fail("not a workflow_dispatch workflow")
    conc = wf.get("concurrency")
    if not isinstance(conc, dict) or not conc.get("group") or conc.get("cancel-in-progress") is not False:
        fail("needs a concurrency group that does not cancel a run in progress")
    print("ok: concurrency group", conc["group"])
    jobs = wf["jobs"]
    uploads = {}
    for name, job in jobs.items():
        for n in needs_of(job):
            if n not in jobs:
                fail(f"job {name} needs unknown job {n}")
        installed = set()
        for i, step in enumerate(job.get("steps", [])):
            where = f"job {name}, step {i + 1}"
            run = step.get("run")
            if run is not None:
                if "${{" in run:
                    fail(f"{where}: ${{{{ }}}} inside a script; pass it through env:")
                for line in run.splitlines():
                    if "apt-get install" in line:
                        installed |= set(line.split())
                for cmd in commands(run):
                    if cmd in TOOLS and TOOLS[cmd] not in installed:
                        fail(f"{where}: runs {cmd} before any step of the job installs {TOOLS[cmd]}")
                    if cmd not in TOOLS and cmd not in BASE and not cmd.startswith('"$'):
                        fail(f"{where}: runs {cmd}, which is neither installed nor in the base image")
            uses = step.get("uses", "")
            if uses.startswith("actions/upload-artifact"):
                uploads.setdefault(name, []).append(step["with"]["name"])
        print(f"ok: job {name}: every tool it runs is installed first")
    for name, job in jobs.items():
        for step in job.get("steps", []):
            if not step.get("uses", "").startswith("actions/download-artifact"):
                continue
            want = step["with"].get("name") or step["with"].get("pattern")
            # An upload named with an expression (delta-${{ strategy.job-index }}) matches as a glob.
            sources = [(job_name, EXPR.sub("*", up)) for job_name in all_needs(jobs, name)
                       for up in uploads.get(job_name, [])]
            if not any(fnmatch.fnmatch(up, want) or fnmatch.fnmatch(want, up) for _, up in sources):
                fail(f"job {name} downloads {want}, which no job it needs uploads")
        print(f"ok: job {name}: every download names an upload of a job it needs")
    return jobs


def check_matrix(jobs):
    gen = [n for n, j in jobs.items() if "matrix" in j.get("strategy", {})]
    if len(gen) != 1:
        fail("expected one matrix job")
    name = gen[0]
    job = jobs[name]
    m = EXPR.fullmatch(str(job["strategy"]["matrix"]).strip())
    out = re.fullmatch(r"fromJSON\(needs\.(\S+)\.outputs\.(\S+)\)", m.group(1)) if m else None
    if not out or out.group(1) not in needs_of(job):
        fail(f"job {name}: the matrix must be fromJSON of a needed job's output")
    planner = jobs[out.group(1)]
    value = EXPR.fullmatch(planner["outputs"][out.group(2)]).group(1)
    step_id = re.fullmatch(r"steps\.(\S+)\.outputs\.(\S+)", value)
    step = next(s for s in planner["steps"] if s.get("id") == step_id.group(1))
    if f'echo "{step_id.group(2)}=' not in step["run"] or "--format matrix" not in step["run"] \
            or "$GITHUB_OUTPUT" not in step["run"]:
        fail(f"the {step_id.group(1)} step does not write plan --format matrix to {step_id.group(2)}")
    print(f"ok: job {name} takes its matrix from plan --format matrix")
    return name


def run_matrix(wf, jobs, name, matrix_file):
    """Runs the matrix job's ci-job step in bash for each entry, with deltagen as a stub."""
    job = jobs[name]
    matrix = json.load(open(matrix_file))
    include = matrix["include"]
    if len(include) > 256:
        fail(f"the matrix has {len(include)} entries; GitHub allows 256")
    script = next(s["run"] for s in job["steps"] if "ci-job" in s.get("run", ""))
    asked = []
    with tempfile.TemporaryDirectory() as tmp:
        log = os.path.join(tmp, "calls")
        stub = f'deltagen() {{ printf "%s\\n" "$@" >> {log}; echo CALL >> {log}; }}\n'
        for index, entry in enumerate(include):
            env = {"PATH": os.environ["PATH"]}
            for key, value in {**wf.get("env", {}), **job.get("env", {})}.items():
                def expand(m):
                    expr = m.group(1)
                    if expr.startswith("matrix."):
                        return str(entry.get(expr[len("matrix."):], ""))
                    if expr == "strategy.job-index":
                        return str(index)
                    return "x"  # secrets
                env[key] = EXPR.sub(expand, str(value))
            open(log, "w").close()
            subprocess.run(["bash", "-euo", "pipefail", "-c", stub + script], env=env, check=True)
            args = open(log).read().split("\n")
            if args.count("CALL") != 1 or args[0] != "ci-job":
                fail(f"entry {index}: the step should call deltagen ci-job once")
            asked += [args[i + 1] for i, a in enumerate(args) if a == "--only"]
    expected = [p for e in include for p in (e["only"].split() if "only" in e else [f'{e["from"]}-{e["to"]}'])]
    if sorted(asked) != sorted(expected) or len(set(asked)) != len(asked):
        fail(f"ci-job was asked for {len(asked)} pairs ({len(set(asked))} distinct), not the {len(expected)} of the matrix")
    print(f"ok: {len(include)} matrix jobs ask ci-job for {len(asked)} pairs, each once")


def main():
    if len(sys.argv) not in (2, 3):
        fail("usage: check-ci-workflow.py DOC [MATRIX.json]")
    wf = yaml.safe_load(workflow_block(sys.argv[1]))
    jobs = check_structure(wf)
    name = check_matrix(jobs)
    if len(sys.argv) == 3:
        run_matrix(wf, jobs, name, sys.argv[2])


if __name__ == "__main__":
    main()
