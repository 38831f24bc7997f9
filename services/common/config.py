"""What a back end is given when it starts: the node runner builds this from the topology."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field


class BackendConfig(BaseModel):
    name: str = Field(description="The back end's node name in the topology")
    app: str = Field(description="Key of the back-end app in services.catalog")
    seed: int = Field(default=2022, description="Seed of the deterministic sample data")
    data_dir: Path = Field(default=Path("data"), description="Where stateful back ends keep SQLite")
    params: dict[str, Any] = Field(default_factory=dict, description="App-specific parameters")
    seeds: list[Path] = Field(
        default_factory=list,
        description="Seed folders or files whose records join the sample data (contracts/seeds.py)",
    )

    @property
    def database_path(self) -> Path:
        return self.data_dir / f"{self.name}.sqlite3"
