"""The model interface: a forecaster is a class registered by name with a typed config.

Every forecaster forecasts, for each node (instrument, t) of a `Panel`, the next interval's log realized variance
and a score of the next return being positive. The platform knows nothing else about it: it fits each one on the
same training block (early stopping on the same validation block), scores it on the same test block, and stores it
with the same model card. Adding a model is one module with one class and the `@register("name")` line above it
(and its import in `streamforge.models.zoo`).

A `ModelSpec` is what the leaderboard lists: a registered forecaster with a config, under a label — one forecaster
can appear several times (the relational net with all edge types and with one type only: the ablations).
"""

from __future__ import annotations

import dataclasses
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from streamforge.errors import ConfigError

if TYPE_CHECKING:  # the panel brings PyTorch; naming a model (the leaderboard's partitions) must not
    from streamforge.models.panel import Panel

BASELINE, MODEL = "baseline", "model"


@dataclass(frozen=True)
class Forecast:
    log_rv: np.ndarray  # forecast of the next interval's log RV (its conditional mean), per node asked for
    return_score: np.ndarray  # > 0: the next return is forecast positive


@dataclass(frozen=True)
class FitReport:
    epochs: int  # 0 for a closed-form fit
    best_epoch: int
    best_val_loss: float | None
    seconds: float


class Forecaster(ABC):
    """Subclasses set `Config` (a frozen dataclass of typed fields with defaults) and `kind`; `register` sets
    `name`. `deterministic` forecasters ignore the seed (the protocol fits them once, not once per seed)."""

    name: ClassVar[str]
    Config: ClassVar[type]
    kind: ClassVar[str] = MODEL
    deterministic: ClassVar[bool] = False

    def __init__(self, config: Any, seed: int) -> None:
        self.config, self.seed = config, seed

    @abstractmethod
    def fit(self, panel: Panel, blocks: dict[str, np.ndarray]) -> FitReport:
        """Fit on `blocks['train']` (boolean node masks), stop early on `blocks['validation']`."""

    @abstractmethod
    def forecast(self, panel: Panel, nodes: np.ndarray) -> Forecast:
        """Forecasts for the node ids `nodes` of a panel (the one fitted on, or a later one built with its stats)."""

    @abstractmethod
    def state_dict(self) -> dict:
        """What `load_state_dict` needs to forecast again: tensors, lists and numbers only (saved by torch.save)."""

    @abstractmethod
    def load_state_dict(self, state: dict) -> None: ...


FORECASTERS: dict[str, type[Forecaster]] = {}


def register(name: str):
    """Class decorator: make the forecaster known to the platform as `name`."""

    def add(cls: type[Forecaster]) -> type[Forecaster]:
        if name in FORECASTERS and FORECASTERS[name] is not cls:
            raise ConfigError(f"forecaster {name!r} is registered twice ({FORECASTERS[name].__module__}, {cls.__module__})")
        if not (dataclasses.is_dataclass(cls.Config) and cls.Config.__dataclass_params__.frozen):
            raise ConfigError(f"forecaster {name!r}: Config must be a frozen dataclass")
        cls.name = name
        FORECASTERS[name] = cls
        return cls

    return add


def forecaster_class(name: str) -> type[Forecaster]:
    if name not in FORECASTERS:
        import streamforge.models.zoo  # noqa: F401 (registers the built-in forecasters, and loads PyTorch, on first use)
    try:
        return FORECASTERS[name]
    except KeyError:
        raise ConfigError(f"no forecaster {name!r} is registered; registered: {', '.join(sorted(FORECASTERS))}") from None


@dataclass(frozen=True)
class ModelSpec:
    """A forecaster, its config overrides and the label it has on the leaderboard (and in partition keys)."""

    forecaster: str
    label: str = ""
    overrides: tuple[tuple[str, Any], ...] = field(default=())

    def __post_init__(self) -> None:
        if not self.label:
            object.__setattr__(self, "label", self.forecaster)

    @property
    def cls(self) -> type[Forecaster]:
        return forecaster_class(self.forecaster)

    def config(self) -> Any:
        cls = self.cls
        known = {f.name for f in dataclasses.fields(cls.Config)}
        unknown = sorted(k for k, _ in self.overrides if k not in known)
        if unknown:
            raise ConfigError(f"{self.label}: {cls.name} has no config field(s) {unknown}; fields: {sorted(known)}")
        return cls.Config(**dict(self.overrides))

    def build(self, seed: int) -> Forecaster:
        return self.cls(self.config(), seed)

    def to_dict(self) -> dict:
        return {"forecaster": self.forecaster, "label": self.label, "config": dataclasses.asdict(self.config())}
