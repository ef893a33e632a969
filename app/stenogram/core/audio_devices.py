"""Microphones: listing them, and turning PortAudio's failures into errors a person can act on.

sounddevice is imported only inside functions: PortAudio lists the devices once, when it is
loaded, so importing it early (before a sound server is reachable) would freeze an empty list.
``refresh_devices()`` reloads PortAudio to see devices plugged in since.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from typing import Any

MACOS_MIC_HELP = (
    "Open System Settings › Privacy & Security › Microphone, turn Stenogram on "
    "(or the terminal you started it from), then quit and reopen Stenogram."
)


class MicrophoneError(Exception):
    """Recording failed; ``user_message`` says what happened and what to do."""

    def __init__(self, user_message: str) -> None:
        super().__init__(user_message)
        self.user_message = user_message


class NoInputDevice(MicrophoneError):
    pass


class DeviceNotFound(MicrophoneError):
    pass


class DeviceBusy(MicrophoneError):
    pass


class MicrophonePermissionDenied(MicrophoneError):
    pass


class DeviceLost(MicrophoneError):
    """The device stopped delivering audio mid-recording (unplugged, or its server went away)."""


@dataclass(frozen=True)
class InputDevice:
    index: int  # PortAudio's device index; valid until the next refresh_devices()
    name: str
    host_api: str
    max_channels: int
    default_samplerate: float
    is_default: bool


def _sd() -> Any:
    import sounddevice  # noqa: PLC0415 - see the module docstring

    return sounddevice


def refresh_devices() -> None:
    """Re-reads the device list (PortAudio only looks at devices when it starts).

    Call it only while no stream is open.
    """
    sd = _sd()
    sd._terminate()
    sd._initialize()


def list_input_devices() -> list[InputDevice]:
    sd = _sd()
    try:
        devices = sd.query_devices()
        apis = sd.query_hostapis()
        default_in = sd.default.device[0]
    except sd.PortAudioError as exc:
        raise NoInputDevice(
            f"The sound system could not list microphones ({exc}). Check your audio setup."
        ) from exc
    result = []
    for index, dev in enumerate(devices):
        if dev["max_input_channels"] <= 0:
            continue
        result.append(
            InputDevice(
                index=index,
                name=dev["name"],
                host_api=apis[dev["hostapi"]]["name"],
                max_channels=dev["max_input_channels"],
                default_samplerate=float(dev["default_samplerate"]),
                is_default=index == default_in,
            )
        )
    return result


def resolve_device(device: int | str | None) -> InputDevice:
    """The device to record from: an index, a (part of a) name, or None for the default."""
    devices = list_input_devices()
    if not devices:
        raise NoInputDevice(_no_device_message())
    if device is None:
        for dev in devices:
            if dev.is_default:
                return dev
        return devices[0]
    for dev in devices:
        if dev.index == device or dev.name == device:
            return dev
    if isinstance(device, str):
        for dev in devices:
            if device.lower() in dev.name.lower():
                return dev
    raise DeviceNotFound(
        f"The microphone “{device}” is not connected. Plug it in or choose another one."
    )


def _no_device_message() -> str:
    if sys.platform == "darwin":
        return (
            "No microphone was found. Connect one, or check System Settings › Sound › Input. "
            + MACOS_MIC_HELP
        )
    return (
        "No microphone was found. Connect one and check that your system's sound settings see it."
    )


def error_from_portaudio(exc: Exception, device_name: str) -> MicrophoneError:
    """A typed, actionable error for a PortAudio failure while opening or running a stream."""
    text = str(exc)
    lowered = text.lower()
    if "-9985" in text or "unavailable" in lowered or "busy" in lowered:
        return DeviceBusy(
            f"The microphone “{device_name}” is in use by another app or cannot be opened right "
            "now. Close the other app that records sound, or choose another microphone."
        )
    if "permission" in lowered or "not permitted" in lowered or "-9986" in text:
        return permission_denied()
    if "-9996" in text or "invalid device" in lowered or "querying device -1" in lowered:
        return NoInputDevice(_no_device_message())
    return MicrophoneError(
        f"The microphone “{device_name}” could not be used ({text}). "
        "Try another microphone, or unplug and reconnect this one."
    )


def permission_denied() -> MicrophonePermissionDenied:
    if sys.platform == "darwin":
        return MicrophonePermissionDenied(
            "Stenogram is not allowed to use the microphone. " + MACOS_MIC_HELP
        )
    return MicrophonePermissionDenied(
        "Stenogram is not allowed to use the microphone. Check that your user may use "
        "audio devices (on Linux, membership of the 'audio' group) and any privacy settings."
    )
