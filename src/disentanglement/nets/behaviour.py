"""Networks for behaviour (Dezfouli et al., NeurIPS 2019, "Disentangled behavioural representations"): a recurrent
encoder of a subject's choice sequence, a hypernetwork from the code to the weights of a small recurrent learner,
and that learner, run with a different set of weights for every subject.

Sizes are the authors' synthetic experiment (adezfouli/rnn_hypercoder, ``src/model/mmdae_enc.py``, ``dec.py``,
``src/expr/SYNTH.py``; facts only, written here): an LSTM of 50 cells each way, dense 50 ReLU, 50 ReLU, 10
softplus, a linear map to z; the hypernetwork dense 100 tanh x 3 and a linear map to the learner's weights; the
learner a GRU of 3 cells read by a (3, A) softmax map without bias.

A trial's input to both recurrent nets is the *previous* trial's reward and one-hot action, with a dummy first
input of zeros (no action, no reward), so the input sequence is (B, T + 1, 1 + A) and the learner's policy at
position t predicts the choice of trial t + 1 (its last position predicts nothing).
"""
from __future__ import annotations

import torch
from torch import nn


def previous_inputs(actions: torch.Tensor, rewards: torch.Tensor) -> torch.Tensor:
    """actions (B, T, A) one-hot, rewards (B, T) -> the recurrent input (B, T + 1, 1 + A): at position t the
    reward and action of trial t (1-based), zeros at position 0."""
    step = torch.cat([rewards[..., None], actions], -1)                          # (B, T, 1 + A)
    return torch.cat([step.new_zeros(step.shape[0], 1, step.shape[2]), step], 1)


class SequenceEncoder(nn.Module):
    """inputs (B, T + 1, I) -> z (B, D), deterministic (the authors' MMD autoencoder has no posterior variance).

    The summary is the bidirectional LSTM's two final outputs (forward after the whole sequence, backward after
    the whole sequence read in reverse).  The authors' code reads both directions at the last position, where the
    backward LSTM has seen only the last trial; we take the backward direction's full reading instead."""

    def __init__(self, input_dim: int, latent_dim: int, cells: int = 50):
        super().__init__()
        self.lstm = nn.LSTM(input_dim, cells, batch_first=True, bidirectional=True)
        self.head = nn.Sequential(
            nn.Linear(2 * cells, cells), nn.ReLU(), nn.Linear(cells, cells), nn.ReLU(),
            nn.Linear(cells, 10), nn.Softplus(), nn.Linear(10, latent_dim),
        )

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        out, _ = self.lstm(inputs)                                               # (B, T + 1, 2 cells)
        cells = out.shape[-1] // 2
        summary = torch.cat([out[:, -1, :cells], out[:, 0, cells:]], -1)         # (B, 2 cells)
        return self.head(summary)


class LearnerWeights(nn.Module):
    """z (B, D) -> the weights of one GRU learner per subject, as a dict of (B, ...) tensors.

    The GRU (TensorFlow's convention, as the authors' cell): gates [r, u] = σ([x, h] W_g + b_g), candidate
    c = tanh([x, r ⊙ h] W_c + b_c), h' = u ⊙ h + (1 - u) ⊙ c; the policy's logits h W_out.  With input 1 + A = 3
    and 3 cells: 36 + 6 + 18 + 3 + 6 = 69 numbers per subject."""

    def __init__(self, latent_dim: int, input_dim: int, actions: int, cells: int = 3, hidden: int = 100):
        super().__init__()
        joint = input_dim + cells
        self.shapes = {"w_gates": (joint, 2 * cells), "b_gates": (2 * cells,), "w_cand": (joint, cells),
                       "b_cand": (cells,), "w_out": (cells, actions)}
        total = sum(torch.Size(s).numel() for s in self.shapes.values())
        self.net = nn.Sequential(
            nn.Linear(latent_dim, hidden), nn.Tanh(), nn.Linear(hidden, hidden), nn.Tanh(),
            nn.Linear(hidden, hidden), nn.Tanh(), nn.Linear(hidden, total),
        )

    def forward(self, z: torch.Tensor) -> dict[str, torch.Tensor]:
        flat = self.net(z)                                                       # (B, 69)
        out, start = {}, 0
        for name, shape in self.shapes.items():
            size = torch.Size(shape).numel()
            out[name] = flat[:, start:start + size].reshape(len(z), *shape)
            start += size
        return out


def gru_step(weights: dict[str, torch.Tensor], x: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
    """One step of every subject's own GRU: x (B, I), h (B, H) -> h' (B, H)."""
    cells = h.shape[1]
    gates = torch.sigmoid(torch.einsum("bi,bio->bo", torch.cat([x, h], 1), weights["w_gates"]) + weights["b_gates"])
    r, u = gates[:, :cells], gates[:, cells:]
    c = torch.tanh(torch.einsum("bi,bio->bo", torch.cat([x, r * h], 1), weights["w_cand"]) + weights["b_cand"])
    return u * h + (1 - u) * c


def learner_logits(weights: dict[str, torch.Tensor], inputs: torch.Tensor) -> torch.Tensor:
    """Run every subject's learner over its inputs (B, T + 1, I) -> policy logits (B, T + 1, A)."""
    b = inputs.shape[0]
    h = inputs.new_zeros(b, weights["w_cand"].shape[-1])
    states = []
    for t in range(inputs.shape[1]):
        h = gru_step(weights, inputs[:, t], h)
        states.append(h)
    return torch.einsum("bth,bha->bta", torch.stack(states, 1), weights["w_out"])
