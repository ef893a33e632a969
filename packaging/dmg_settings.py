"""dmgbuild settings for Stenogram's disk image: the app and a link to Applications.

`make dmg` runs: dmgbuild -s packaging/dmg_settings.py -D app=dist/Stenogram.app Stenogram OUT.dmg
dmgbuild executes this file with ``defines`` (the -D values) already set.
"""

# ruff: noqa: F821  (``defines`` is provided by dmgbuild)
import os.path

application = defines.get("app", "dist/Stenogram.app")
appname = os.path.basename(application)

volume_name = "Stenogram"
format = "UDZO"  # zlib-compressed, readable on every macOS the app supports
filesystem = "HFS+"
files = [application]
symlinks = {"Applications": "/Applications"}
badge_icon = None
icon_locations = {appname: (150, 170), "Applications": (490, 170)}

# A plain window: drag the app onto Applications.
background = "builtin-arrow"
window_rect = ((200, 120), (640, 360))
default_view = "icon-view"
show_icon_preview = False
show_status_bar = False
show_toolbar = False
show_sidebar = False
icon_size = 128
text_size = 14
