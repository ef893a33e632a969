"""A system-wide dictation shortcut (⌥⌘D), where the platform allows one.

macOS: Carbon's ``RegisterEventHotKey`` through ctypes (no extra package; it needs no
Accessibility permission and works while another app is in front). Elsewhere: a stand-in that
does nothing and says so in ``note`` — the in-app shortcut still works there.

Not exercised on Linux: only ``NoGlobalShortcut`` runs in the tests here.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import sys
from collections.abc import Callable
from typing import Any, Protocol

log = logging.getLogger(__name__)

# Carbon constants (HIToolbox Events.h / CarbonEvents.h).
_CMD_KEY = 0x0100
_OPTION_KEY = 0x0800
_KVK_ANSI_D = 0x02
_KEYBOARD_CLASS = int.from_bytes(b"keyb", "big")
_HOTKEY_PRESSED = 5
_SIGNATURE = int.from_bytes(b"StnG", "big")


class GlobalShortcut(Protocol):
    active: bool  # True when pressing the keys anywhere reaches the app
    note: str  # a sentence for people: where the shortcut works

    def register(self, callback: Callable[[], None]) -> bool: ...

    def unregister(self) -> None: ...


class NoGlobalShortcut:
    """Platforms without a global shortcut: nothing is registered, and ``note`` says so."""

    def __init__(self, reason: str) -> None:
        self.active = False
        self.note = reason

    def register(self, callback: Callable[[], None]) -> bool:
        log.info("no global dictation shortcut: %s", self.note)
        return False

    def unregister(self) -> None:
        pass


class _HotKeyID(ctypes.Structure):
    _fields_ = [("signature", ctypes.c_uint32), ("id", ctypes.c_uint32)]


class _EventTypeSpec(ctypes.Structure):
    _fields_ = [("eventClass", ctypes.c_uint32), ("eventKind", ctypes.c_uint32)]


_Handler = ctypes.CFUNCTYPE(ctypes.c_int32, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p)


class CarbonHotKey:
    """⌥⌘D registered with Carbon; ``callback`` runs on the main thread when it is pressed."""

    def __init__(self) -> None:
        self.active = False
        self.note = "⌥⌘D starts and stops dictation from any app."
        self._carbon: Any = None
        self._handler: Any = None  # kept alive: Carbon holds only a raw pointer to it
        self._hotkey = ctypes.c_void_p()
        self._handler_ref = ctypes.c_void_p()  # removed again on unregister
        self._callback: Callable[[], None] | None = None

    def register(self, callback: Callable[[], None]) -> bool:
        self._callback = callback
        try:
            self._carbon = _load_carbon()
            self._handler = _Handler(self._on_event)
            spec = _EventTypeSpec(_KEYBOARD_CLASS, _HOTKEY_PRESSED)
            target = self._carbon.GetApplicationEventTarget()
            status = self._carbon.InstallEventHandler(target, self._handler, 1, ctypes.byref(spec),
                                                      None, ctypes.byref(self._handler_ref))  # fmt: skip
            if status == 0:
                status = self._carbon.RegisterEventHotKey(
                    _KVK_ANSI_D, _CMD_KEY | _OPTION_KEY, _HotKeyID(_SIGNATURE, 1), target, 0,
                    ctypes.byref(self._hotkey),
                )  # fmt: skip
        except (OSError, AttributeError, TypeError) as exc:
            status = -1
            log.info("global shortcut unavailable: %s", exc)
        self.active = status == 0
        if not self.active:
            self.note = ("⌥⌘D could not be registered system-wide (another app may use it); "
                         "it works while Stenogram is in front.")  # fmt: skip
        return self.active

    def _on_event(self, _call_ref: Any, _event: Any, _user: Any) -> int:
        if self._callback is not None:
            try:
                self._callback()
            except Exception:  # never let an exception cross into Carbon's C frames
                log.exception("dictation shortcut failed")
        return 0

    def unregister(self) -> None:
        # Both go before the ctypes callback can be freed: Carbon keeps only its raw pointer.
        if self._carbon is not None:
            if self._hotkey:
                self._carbon.UnregisterEventHotKey(self._hotkey)
                self._hotkey = ctypes.c_void_p()
            if self._handler_ref:
                self._carbon.RemoveEventHandler(self._handler_ref)
                self._handler_ref = ctypes.c_void_p()
        self.active = False


def _load_carbon() -> Any:
    path = ctypes.util.find_library("Carbon")
    if not path:
        raise OSError("the Carbon framework was not found")
    carbon = ctypes.CDLL(path)
    carbon.GetApplicationEventTarget.restype = ctypes.c_void_p
    carbon.InstallEventHandler.argtypes = [
        ctypes.c_void_p, _Handler, ctypes.c_ulong, ctypes.POINTER(_EventTypeSpec),
        ctypes.c_void_p, ctypes.POINTER(ctypes.c_void_p),
    ]  # fmt: skip
    carbon.InstallEventHandler.restype = ctypes.c_int32
    carbon.RemoveEventHandler.argtypes = [ctypes.c_void_p]
    carbon.RegisterEventHotKey.argtypes = [
        ctypes.c_uint32, ctypes.c_uint32, _HotKeyID, ctypes.c_void_p, ctypes.c_uint32,
        ctypes.POINTER(ctypes.c_void_p),
    ]  # fmt: skip
    carbon.RegisterEventHotKey.restype = ctypes.c_int32
    carbon.UnregisterEventHotKey.argtypes = [ctypes.c_void_p]
    return carbon


def make_global_shortcut(platform: str = sys.platform) -> GlobalShortcut:
    if platform == "darwin":
        return CarbonHotKey()
    return NoGlobalShortcut(
        "A system-wide dictation shortcut is only available on macOS; here Ctrl+Alt+D works "
        "while Stenogram is in front."
    )
