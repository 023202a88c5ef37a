"""Field types shared by the scenario's sections: a strict base model, shares, and quantities
that accept units (`90s`, `400ms`, `512mb`, `20kb`) as well as plain numbers."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from sim import units


class Strict(BaseModel):
    """Unknown keys are errors; no silent coercion (a `true` is not a count, "50" not a number)."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


Share = Annotated[float, Field(ge=0.0, le=1.0)]
Seconds = Annotated[float, BeforeValidator(units.seconds)]
Milliseconds = Annotated[float, BeforeValidator(units.milliseconds)]
Megabytes = Annotated[int, BeforeValidator(units.megabytes)]
Kilobytes = Annotated[float, BeforeValidator(units.kilobytes)]
File = Annotated[Path, BeforeValidator(lambda text: Path(text) if isinstance(text, str) else text)]
PositiveMs = Annotated[Milliseconds, Field(gt=0.0, le=600_000.0)]
NonNegativeMs = Annotated[Milliseconds, Field(ge=0.0, le=600_000.0)]
