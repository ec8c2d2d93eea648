"""nginx as the production profile's one public address: found or installed (Debian's package), configured, run."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import jinja2

from bot.production.layout import Layout
from bot.stack import Service, StackError

TEMPLATE = Path(__file__).with_name("nginx.conf.j2")
PACKAGE = "nginx-light"  # Debian's smallest build; it has every module the configuration uses
SEARCH = ("/usr/sbin/nginx", "/usr/local/sbin/nginx", "/usr/local/nginx/sbin/nginx")


def find_nginx() -> Path | None:
    found = shutil.which("nginx")
    if found:
        return Path(found)
    return next((Path(path) for path in SEARCH if os.access(path, os.X_OK)), None)


def ensure_nginx() -> Path:
    """nginx's binary; installed from Debian's packages when missing and this runs as root."""
    found = find_nginx()
    if found is not None:
        return found
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        raise StackError(f"nginx is not installed; install it (Debian: `sudo apt-get install {PACKAGE}`) and run again")
    print(f"nginx: installing Debian's {PACKAGE} package...", flush=True)
    result = subprocess.run(
        ["apt-get", "install", "-y", "--no-install-recommends", PACKAGE],
        capture_output=True,
        text=True,
        env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"},
    )
    found = find_nginx()
    if result.returncode != 0 or found is None:
        raise StackError(f"could not install nginx (apt-get exited with {result.returncode}): {result.stderr[-500:]}")
    return found


def render(layout: Layout, max_body: str = "1m") -> Path:
    """The configuration for this layout, written into the state folder."""
    directory = layout.root / "nginx"
    for sub in ("body", "proxy", "fastcgi", "uwsgi", "scgi"):
        (directory / "tmp" / sub).mkdir(parents=True, exist_ok=True)
    template = jinja2.Template(TEMPLATE.read_text(), undefined=jinja2.StrictUndefined, keep_trailing_newline=True)
    path = directory / "nginx.conf"
    path.write_text(
        template.render(
            dir=directory,
            host=layout.listen_host,
            public_port=layout.ports.public,
            rasa_ports=layout.ports.rasa,
            actions_ports=layout.ports.actions,
            actions_balancer_port=layout.ports.actions_balancer,
            shop_port=layout.ports.shop,
            console_port=layout.ports.console,
            max_body=max_body,
        )
    )
    return path


def check(binary: Path, config: Path) -> None:
    """nginx's own test of the configuration, so a mistake is reported before anything starts."""
    result = subprocess.run(
        [str(binary), "-t", "-q", "-p", str(config.parent), "-c", str(config)], capture_output=True, text=True
    )
    if result.returncode != 0:
        raise StackError(f"nginx rejects {config}: {result.stderr.strip()}")


def nginx_service(binary: Path, config: Path, public_port: int) -> Service:
    return Service(
        "nginx",
        [str(binary), "-p", str(config.parent), "-c", str(config)],
        f"http://127.0.0.1:{public_port}/nginx-health",
    )
