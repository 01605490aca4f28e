"""lobby-kiosk: an on-premises, plugin-based lobby terminal for estates."""

__version__ = "0.1.0"
