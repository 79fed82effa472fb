"""What every forecaster reads: one graph's nodes, features, targets and edges, plus the views of the same data that
the non-graph models need (HAR components, each node's own history), all built once per graph.

Every model on the leaderboard is fitted and scored from one `Panel`, so they see the same data, features and
targets: the graph models through the edges, the MLP and the temporal model through `history`, HAR and GNNHAR through
`har`. Nothing here looks ahead: the HAR components and the history of node (instrument, t) end with interval t.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np
import polars as pl
import torch
from torch_geometric.data import Data

from streamforge.graph.builder import GraphBundle, GraphStats, to_pyg
from streamforge.graph.features import INTERVAL_US
from streamforge.models.sampling import InEdges
from streamforge.schemas import INSTRUMENT

# HAR components (Corsi 2009) on 5-minute intervals: the mean log RV over the last 5 min, 30 min, 4 h and 1 day.
HAR_HORIZONS = (1, 6, 48, 288)
_DAY_US = 86_400_000_000


@dataclass
class Panel:
    nodes: pl.DataFrame  # GRAPH_NODE, row i is node i
    stats: GraphStats
    data: Data  # x, edge_index, edge_type, edge_weight, y_log_rv, y_return, y_std, har (standardised)
    mean: np.ndarray  # per node: training mean and std of its instrument's log RV (the nets' target units)
    std: np.ndarray
    har_log_rv: np.ndarray  # [N, len(HAR_HORIZONS)] in natural units
    har_return: np.ndarray  # the same means of the log return
    time_of_day: np.ndarray  # [N, 2] sine and cosine of the interval's time of day
    instrument_names: list[str]  # sorted; the grid's rows
    grid: torch.Tensor  # [instruments, intervals] node id, -1 where the instrument has no candle
    position: torch.Tensor  # [N, 2] (instrument index, interval index) of each node

    @cached_property
    def in_edges(self) -> InEdges:
        """The edges grouped by destination, for every mini-batch loader over this graph."""
        return InEdges.of(self.data.edge_index, self.num_nodes)

    @classmethod
    def of(cls, bundle: GraphBundle) -> Panel:
        nodes = bundle.nodes
        data = to_pyg(bundle)
        mean, std = bundle.stats.normalisation.log_rv_scale(nodes[INSTRUMENT].to_list())
        data.y_std = torch.tensor((np.nan_to_num(data.y_log_rv.numpy()) - mean) / std, dtype=torch.float32)
        har_log_rv, har_return = (_har_means(nodes, column) for column in ("log_rv", "log_return"))
        data.har = torch.tensor((har_log_rv - mean[:, None]) / std[:, None], dtype=torch.float32)
        instruments = sorted(nodes[INSTRUMENT].unique())
        t = nodes["open_time"].dt.epoch("us").to_numpy()
        angle = (t % _DAY_US) / _DAY_US * 2 * np.pi
        time_of_day = np.column_stack([np.sin(angle), np.cos(angle)])
        interval = (t - t.min()) // INTERVAL_US if len(t) else t
        which = nodes[INSTRUMENT].replace_strict({s: i for i, s in enumerate(instruments)}, return_dtype=pl.Int64)
        position = torch.tensor(np.column_stack([which.to_numpy(), interval]), dtype=torch.long).reshape(-1, 2)
        grid = torch.full((len(instruments), int(interval.max()) + 1 if len(t) else 0), -1, dtype=torch.long)
        grid[position[:, 0], position[:, 1]] = torch.arange(len(nodes))
        return cls(nodes, bundle.stats, data, mean, std, har_log_rv, har_return, time_of_day, instruments, grid, position)

    @property
    def num_nodes(self) -> int:
        return self.nodes.height

    @property
    def instruments(self) -> np.ndarray:
        return self.nodes[INSTRUMENT].to_numpy()

    def earlier(self, node_ids: torch.Tensor, back: int, instrument: str | None = None) -> torch.Tensor:
        """The node `back` intervals before each of `node_ids`, of the same instrument or of `instrument`; -1 where
        there is none."""
        pos = self.position[node_ids]
        row = pos[:, 0] if instrument is None else torch.full_like(pos[:, 0], self.instrument_index(instrument))
        t = pos[:, 1] - back
        ok = (t >= 0) & (t < self.grid.shape[1]) & (row >= 0)
        out = torch.full_like(node_ids, -1)
        out[ok] = self.grid[row[ok], t[ok]]
        return out

    def instrument_index(self, instrument: str) -> int:
        """Row of `instrument` in the grid; -1 when the panel does not hold it."""
        names = self.instrument_names
        return names.index(instrument) if instrument in names else -1

    def history(self, node_ids: torch.Tensor, length: int) -> torch.Tensor:
        """[len(node_ids), length, features]: the features of each node's instrument over its last `length`
        intervals, oldest first and ending with the node itself; zeros where an interval is missing."""
        x = self.data.x
        steps = []
        for back in range(length - 1, -1, -1):
            ids = self.earlier(node_ids, back) if back else node_ids
            steps.append(torch.where((ids >= 0)[:, None], x[ids.clamp(min=0)], torch.zeros(()).to(x)))
        return torch.stack(steps, dim=1)


def _har_means(nodes: pl.DataFrame, column: str) -> np.ndarray:
    """Mean of `column` over the last h intervals of the node's instrument (by time, so a gap shortens the average
    rather than reaching further back), for h in HAR_HORIZONS; rows in node_id order."""
    means = [
        pl.col(column).rolling_mean_by("open_time", window_size=f"{5 * h}m").over(INSTRUMENT).alias(f"h{h}")
        for h in HAR_HORIZONS
    ]
    frame = nodes.select("node_id", INSTRUMENT, "open_time", column).sort("open_time").with_columns(means)
    return frame.sort("node_id").select(f"h{h}" for h in HAR_HORIZONS).to_numpy()
