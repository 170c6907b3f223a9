"""Where the embedded demo lives in the state folder, and generating it on demand."""

from __future__ import annotations

from pathlib import Path

from fhirmony.home import Home

DEFAULT_PATIENTS = 200
DEFAULT_SEED = 42


def demo_folder(home: Home) -> Path:
    return home.root / "demo"


def demo_config_path(home: Home) -> Path:
    return demo_folder(home) / "fhirmony.yaml"


def ensure_demo(home: Home, *, patients: int = DEFAULT_PATIENTS, seed: int = DEFAULT_SEED, fresh: bool = False) -> Path:
    """Generate the demo sources (deterministic from the seed) unless they exist; returns the config."""
    config = demo_config_path(home)
    if fresh or not config.exists():
        from fhirmony.demo import generate

        config = generate(demo_folder(home), patients=patients, seed=seed)
    return config
