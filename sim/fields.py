"""Field types shared by the scenario's sections: a strict base model, shares, and quantities
that accept units (`90s`, `400ms`, `512mb`, `20kb`) as well as plain numbers."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Self

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from sim import units


class Strict(BaseModel):
    """Unknown keys are errors; no silent coercion (a `true` is not a count, "50" not a number).
    Frozen: a variant is a new model made by `replace`, which validates it again."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    def replace(self, **changes: object) -> Self:
        """A copy with ``changes``, validated as loading the section with them would be: every
        field and cross-field check runs again, so an invalid variant raises the
        ValidationError naming the field that its input would. It starts from the fields the
        input set (the others keep their defaults); sections are taken as validated, their
        files not read again."""
        return type(self).model_validate(self._given() | changes)

    def _given(self) -> dict[str, object]:
        """The fields its input set, as validated: what a variant starts from."""
        return {name: getattr(self, name) for name in self.model_fields_set}


Share = Annotated[float, Field(ge=0.0, le=1.0)]
Seconds = Annotated[float, BeforeValidator(units.seconds)]
Milliseconds = Annotated[float, BeforeValidator(units.milliseconds)]
Megabytes = Annotated[int, BeforeValidator(units.megabytes)]
Kilobytes = Annotated[float, BeforeValidator(units.kilobytes)]
File = Annotated[Path, BeforeValidator(lambda text: Path(text) if isinstance(text, str) else text)]
PositiveMs = Annotated[Milliseconds, Field(gt=0.0, le=600_000.0)]
NonNegativeMs = Annotated[Milliseconds, Field(ge=0.0, le=600_000.0)]
