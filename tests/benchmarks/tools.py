"""Outside tools the benchmarks drive (wrk, Jena, the Oxigraph CLI): install, locate, version."""

from __future__ import annotations

import os
import platform
import re
import shutil
import subprocess
import sys
import zipfile
from importlib import metadata
from pathlib import Path

JAVA_DIR = Path("/usr/share/java")
APT_PACKAGES = ("wrk", "default-jre-headless", "libapache-jena-java")
# Jena's command line needs these jars; the rest of /usr/share/java brings clashing loggers.
JENA_JARS = (
    "jena-base", "jena-core", "jena-arq", "jena-iri", "jena-shacl", "jena-shex", "jena-cmds",
    "jena-tdb", "jena-tdb2", "jena-rdfconnection", "jena-dboe-base", "jena-dboe-index",
    "jena-dboe-storage", "jena-dboe-trans-data", "jena-dboe-transaction", "commons-cli",
    "commons-codec", "commons-compress", "commons-csv", "commons-io", "commons-lang3",
    "dexx.collection", "jackson-annotations", "jackson-core", "jackson-databind", "jsonld-java",
    "httpclient", "httpcore", "slf4j-api", "slf4j-nop", "gson", "protobuf", "thrift",
    "titanium-json-ld", "jakarta.json-api", "guava",
)  # fmt: skip
_XERCES = "org/apache/jena/ext/xerces/impl/"


def bin_dir() -> Path:
    return Path(sys.executable).parent


def oxigraph_cli() -> Path:
    return bin_dir() / "oxigraph"


def ensure_tools() -> list[str]:
    """Install what is missing (apt as root, pip into this venv); returns what is still missing."""
    missing_apt = [
        pkg
        for pkg, present in (
            ("wrk", shutil.which("wrk")),
            ("default-jre-headless", shutil.which("java")),
            ("libapache-jena-java", (JAVA_DIR / "jena-shacl.jar").exists()),
        )
        if not present
    ]
    if missing_apt and os.geteuid() == 0:
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        subprocess.run(["apt-get", "update", "-qq"], check=True, env=env)
        subprocess.run(["apt-get", "install", "-y", "-qq", *APT_PACKAGES], check=True, env=env)
    if not oxigraph_cli().exists():
        pip = [sys.executable, "-m", "pip", "install", "--quiet", "oxigraph>=0.5,<0.6"]
        subprocess.run(pip, check=True)
    still = []
    if not shutil.which("wrk"):
        still.append("wrk (apt-get install wrk)")
    if not shutil.which("java") or not (JAVA_DIR / "jena-shacl.jar").exists():
        still.append("Jena (apt-get install default-jre-headless libapache-jena-java)")
    if not oxigraph_cli().exists():
        still.append("oxigraph CLI (pip install oxigraph)")
    return still


def jena_classpath(work: Path) -> str:
    """The jars, plus a folder holding the Xerces messages Debian's jena-core jar misplaces."""
    messages = work / "jena-classpath"
    if not (messages / "xerces/impl/msg/XMLMessages.properties").exists():
        with zipfile.ZipFile(JAVA_DIR / "jena-core.jar") as jar:
            for name in jar.namelist():
                if name.startswith(_XERCES) and name.endswith(".properties"):
                    target = messages / "xerces/impl" / name.removeprefix(_XERCES)
                    target.parent.mkdir(parents=True, exist_ok=True)
                    target.write_bytes(jar.read(name))
    jars = [str(JAVA_DIR / f"{j}.jar") for j in JENA_JARS if (JAVA_DIR / f"{j}.jar").exists()]
    jars += [str(p) for p in sorted(JAVA_DIR.glob("caffeine*.jar"))]
    return ":".join([str(messages), *jars])


def _run(cmd: list[str]) -> str:
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return "?"
    return (done.stdout + done.stderr).strip()


def versions() -> dict[str, str]:
    found = {"python": platform.python_version()}
    for dist in ("rdflib", "pyshacl", "pyoxigraph", "strawberry-graphql", "graphql-core",
                 "uvicorn", "starlette", "oxigraph"):  # fmt: skip
        try:
            found[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            found[dist] = "not installed"
    found["wrk"] = _run(["wrk", "-v"]).splitlines()[0] if shutil.which("wrk") else "missing"
    found["java"] = _run(["java", "-version"]).splitlines()[0] if shutil.which("java") else "-"
    repo = Path(__file__).resolve().parents[2]
    head = _run(["git", "-C", str(repo), "rev-parse", "--short", "HEAD"])
    dirty = _run(["git", "-C", str(repo), "status", "--porcelain", "--", "server"])
    changed = len(dirty.splitlines()) if dirty and dirty != "?" else 0
    found["clinic-kg"] = f"git {head}" + (
        f" + {changed} uncommitted server/ files" if changed else ""
    )
    jena = sorted(JAVA_DIR.glob("jena-shacl-*.jar"))
    found["jena"] = jena[-1].stem.removeprefix("jena-shacl-") if jena else "missing"
    return found


def machine() -> dict[str, str]:
    cpu = "?"
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        match = re.search(r"^model name\s*:\s*(.+)$", cpuinfo.read_text(), re.M)
        cpu = match.group(1) if match else "?"
    mem = "?"
    meminfo = Path("/proc/meminfo")
    if meminfo.exists():
        match = re.search(r"^MemTotal:\s*(\d+) kB", meminfo.read_text(), re.M)
        mem = f"{int(match.group(1)) / 1024**2:.1f} GiB" if match else "?"
    return {
        "nproc": str(os.cpu_count()),
        "memory": mem,
        "cpu": cpu,
        "kernel": platform.release(),
    }
