"""Seed entries for lab services and the processes that host them (lab/crashdump_lab/seed.py's format)."""

from __future__ import annotations

BOOT = "2026-11-20T06:00:00.000Z"


def service(status, pid=0, start_mode="Auto", **extra):
    return dict({"display_name": "x", "status": status, "start_mode": start_mode, "account": "LocalSystem",
                 "pid": pid}, **extra)


def service_process(name, pid, names, folder="C:\\Program Files\\App"):
    """A process started at boot, hosting the services ``names``."""
    return {"name": name, "pid": pid, "start_time": BOOT, "account": "SYSTEM", "services": names,
            "path": folder + "\\" + name}
