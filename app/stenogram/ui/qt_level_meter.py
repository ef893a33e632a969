"""An input level meter: a bar for the peak level in dBFS and the numbers beside it."""

from __future__ import annotations

from PySide6.QtWidgets import QHBoxLayout, QLabel, QProgressBar, QWidget

METER_FLOOR_DBFS = -60.0  # the bar's left end; anything quieter shows as empty
METER_STEPS = 1000


class QtLevelMeter(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.bar = QProgressBar()
        self.bar.setRange(0, METER_STEPS)
        self.bar.setTextVisible(False)
        self.bar.setMaximumHeight(12)
        self.bar.setAccessibleName("Input level")
        self.label = QLabel("–")
        self.label.setStyleSheet("color: palette(mid);")
        self.label.setMinimumWidth(150)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.bar, 1)
        layout.addWidget(self.label)
        self.loudest_dbfs = METER_FLOOR_DBFS  # the loudest peak since reset()

    def set_level(self, peak_dbfs: float, rms_dbfs: float) -> None:
        self.loudest_dbfs = max(self.loudest_dbfs, peak_dbfs)
        share = (max(METER_FLOOR_DBFS, peak_dbfs) - METER_FLOOR_DBFS) / -METER_FLOOR_DBFS
        self.bar.setValue(int(min(1.0, share) * METER_STEPS))
        self.label.setText(f"{peak_dbfs:5.1f} dBFS peak · {rms_dbfs:5.1f} RMS")

    def idle(self) -> None:
        """Nothing is listening: an empty bar (the loudest level seen is kept)."""
        self.bar.setValue(0)
        self.label.setText("–")

    def reset(self) -> None:
        self.loudest_dbfs = METER_FLOOR_DBFS
        self.bar.setValue(0)
        self.label.setText("–")
