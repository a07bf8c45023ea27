"""Write one benchmark's section of docs/benchmarks.md, leaving the other sections as they are."""

import os
import platform
import re
import subprocess
from datetime import UTC, datetime
from pathlib import Path

REPORT = Path(__file__).resolve().parent.parent / "docs" / "benchmarks.md"
HEADER = "# Benchmarks\n\nEach section is rewritten by the script it names; figures are medians unless stated.\n"


def machine_description() -> str:
    """One line naming the machine: CPU model, cores, memory, Python."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem_gib = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return f"{cpu}, {os.cpu_count()} cores, {mem_gib:.0f} GiB RAM, Python {platform.python_version()}"


def git_revision() -> str:
    try:
        out = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=True)
        return out.stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def write_section(
    name: str, title: str, command: str, body: str, *, first: bool = False, run: tuple[str, str] | None = None
) -> Path:
    """Replace the section marked ``<!-- bench:NAME -->`` in docs/benchmarks.md, or add it (at the end, or right
    under the page header when ``first``). ``run``: (time, commit) of a run saved earlier, rendered now."""
    stamp, commit = run or (datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"), git_revision())
    section = (
        f"<!-- bench:{name} -->\n## {title}\n\n"
        f"Command: `{command}`  \nMachine: {machine_description()}  \nRun: {stamp}, commit {commit}\n\n"
        f"{body.strip()}\n<!-- /bench:{name} -->\n"
    )
    REPORT.parent.mkdir(parents=True, exist_ok=True)
    text = REPORT.read_text() if REPORT.exists() else HEADER
    pattern = re.compile(rf"<!-- bench:{re.escape(name)} -->.*?<!-- /bench:{re.escape(name)} -->\n?", re.S)
    if pattern.search(text):
        text = pattern.sub(lambda _: section, text)
    elif first and text.startswith(HEADER):
        text = HEADER + "\n" + section + "\n" + text[len(HEADER) :].lstrip("\n")
    else:
        text = text.rstrip("\n") + "\n\n" + section
    REPORT.write_text(text)
    return REPORT
