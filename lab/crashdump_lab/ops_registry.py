"""Agent protocol registry operations (reg_*) on a lab host."""

from __future__ import annotations


def _reg_read(host, a):
    return host.registry.read(a.get("key", str), a.view(), a.get("last_write", bool, False))


def _reg_set(host, a):
    host.registry.set_value(a.get("key", str), a.view(), a.get("name", str), a.get("type", str), a.raw("data"),
                            raw=a.get("raw", bool, False))
    return {}


def _reg_delete_value(host, a):
    return {"deleted": host.registry.delete_value(a.get("key", str), a.view(), a.get("name", str))}


def _reg_create_key(host, a):
    return {"created": host.registry.create(a.get("key", str), a.view())}


def _reg_delete_key(host, a):
    deleted, reason = host.registry.delete_key(a.get("key", str), a.view())
    return {"deleted": deleted, "reason": reason}
