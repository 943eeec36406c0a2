"""Differentiable neural computer (Graves et al. 2016, "Hybrid computing using a neural network
with dynamic external memory", Nature 538).

An LSTM controller reads and writes an external memory M (N slots of W numbers) through R read
heads and one write head. At every step t the controller sees the input x_t and the R words it
read at step t-1, and emits an interface vector xi_t that drives the memory:

    (h_t, c_t) = LSTM([x_t; r_{t-1}], (h_{t-1}, c_{t-1}))
    xi_t       = W_xi h_t
    write      w^w_t = g^w (g^a a_t + (1 - g^a) C(M_{t-1}, k^w, beta^w))
               M_t   = M_{t-1} o (E - w^w e^T) + w^w v^T
    read       w^r_t = pi_1 b_t + pi_2 C(M_t, k^r, beta^r) + pi_3 f_t
               r_t   = M_t^T w^r_t
    y_t        = W_y [h_t; r_t]                      (the paper's v_t + W_r r_t)

Three attention mechanisms (the paper's Methods section):
  content   C(M, k, beta)[i] = softmax_i(beta cos(k, M[i]))
  dynamic memory allocation: a usage vector u (a slot is used once written, freed when the free
      gates f release what the heads read) ranks the slots; the allocation a picks the least
      used one.
  temporal links: the link matrix L[i, j] says slot i was written right after slot j; the
      forward and backward weightings f = L w^r, b = L^T w^r let a read head walk the writes
      in order or backwards.

The memory math is written as small pure functions batched over a leading B dimension, in the
order the paper applies them. `DNC` is the general sequence model (B, T, X) -> (B, T, Y);
`DNCQA` runs it over bAbI stories for the training loop of agent/memnets/train.py.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import torch
from torch import nn
from torch.nn import functional as F

EPSILON = 1e-6  # guards the norms in the cosine similarity


# ---------------------------------------------------------------------------- memory math


def content_weighting(
    memory: torch.Tensor, keys: torch.Tensor, strengths: torch.Tensor
) -> torch.Tensor:
    """Content-based addressing, one weighting per key:

        C(M, k, beta)[i] = softmax_i(beta * cos(k, M[i])),  cos(u, v) = u.v / (|u| |v|)

    memory (B, N, W), keys (B, R, W), strengths (B, R) -> (B, R, N). A norm is computed as
    sqrt(|x|^2 + eps), so an empty slot (or key) has cosine 0 and a finite gradient."""
    unit_memory = memory * torch.rsqrt(memory.pow(2).sum(-1, keepdim=True) + EPSILON)  # (B, N, W)
    unit_keys = keys * torch.rsqrt(keys.pow(2).sum(-1, keepdim=True) + EPSILON)  # (B, R, W)
    cosine = unit_keys @ unit_memory.transpose(1, 2)  # (B, R, N)
    return (strengths.unsqueeze(-1) * cosine).softmax(-1)


def retention(free_gates: torch.Tensor, read_weights_prev: torch.Tensor) -> torch.Tensor:
    """How much of each slot the read heads keep (do not free):

        psi_t = prod_i (1 - f^i_t w^{r,i}_{t-1})

    free_gates (B, R), read_weights_prev (B, R, N) -> (B, N)."""
    return (1 - free_gates.unsqueeze(-1) * read_weights_prev).prod(dim=1)


def usage_update(
    usage_prev: torch.Tensor, write_weights_prev: torch.Tensor, retention: torch.Tensor
) -> torch.Tensor:
    """A slot becomes used when written and stays used until freed:

        u_t = (u_{t-1} + w^w_{t-1} - u_{t-1} o w^w_{t-1}) o psi_t

    all (B, N) -> (B, N)."""
    return (usage_prev + write_weights_prev - usage_prev * write_weights_prev) * retention


def allocation_weighting(usage: torch.Tensor) -> torch.Tensor:
    """Where to write fresh: with phi the slot indices sorted by usage, ascending,

        a[phi_j] = (1 - u[phi_j]) prod_{i<j} u[phi_i]

    usage (B, N) -> (B, N). The sort is not differentiated (as in the paper and DeepMind's
    implementation), the gradient flows through the sorted usage values."""
    sorted_usage, phi = usage.sort(dim=-1)  # (B, N) each, ascending
    ones = torch.ones_like(sorted_usage[..., :1])  # (B, 1)
    before = torch.cat([ones, sorted_usage[..., :-1]], dim=-1).cumprod(-1)  # exclusive cumprod
    sorted_allocation = (1 - sorted_usage) * before  # (B, N), in phi order
    return torch.zeros_like(usage).scatter(-1, phi, sorted_allocation)


def write_weighting(
    write_gate: torch.Tensor,
    allocation_gate: torch.Tensor,
    allocation: torch.Tensor,
    write_content: torch.Tensor,
) -> torch.Tensor:
    """Interpolate allocation and content addressing, then gate the whole write:

        w^w_t = g^w_t (g^a_t a_t + (1 - g^a_t) c^w_t)

    write_gate and allocation_gate (B, 1) or (B,), allocation and write_content (B, N)
    -> (B, N)."""
    g_w = write_gate.reshape(-1, 1)  # (B, 1)
    g_a = allocation_gate.reshape(-1, 1)  # (B, 1)
    return g_w * (g_a * allocation + (1 - g_a) * write_content)


def memory_update(
    memory: torch.Tensor,
    write_weights: torch.Tensor,
    erase: torch.Tensor,
    write_vector: torch.Tensor,
) -> torch.Tensor:
    """Erase, then add:

        M_t = M_{t-1} o (E - w^w_t e_t^T) + w^w_t v_t^T

    memory (B, N, W), write_weights (B, N), erase and write_vector (B, W) -> (B, N, W)."""
    w = write_weights.unsqueeze(-1)  # (B, N, 1)
    return memory * (1 - w * erase.unsqueeze(1)) + w * write_vector.unsqueeze(1)


def precedence_update(precedence_prev: torch.Tensor, write_weights: torch.Tensor) -> torch.Tensor:
    """p_t[i]: how much slot i was the last one written:

        p_t = (1 - sum_i w^w_t[i]) p_{t-1} + w^w_t

    both (B, N) -> (B, N)."""
    return (1 - write_weights.sum(-1, keepdim=True)) * precedence_prev + write_weights


def link_update(
    link_prev: torch.Tensor, write_weights: torch.Tensor, precedence_prev: torch.Tensor
) -> torch.Tensor:
    """L_t[i, j]: how much slot i was written right after slot j:

        L_t[i, j] = (1 - w^w_t[i] - w^w_t[j]) L_{t-1}[i, j] + w^w_t[i] p_{t-1}[j],  L_t[i, i] = 0

    link_prev (B, N, N), write_weights and precedence_prev (B, N) -> (B, N, N)."""
    w_i = write_weights.unsqueeze(-1)  # (B, N, 1)
    w_j = write_weights.unsqueeze(-2)  # (B, 1, N)
    link = (1 - w_i - w_j) * link_prev + w_i * precedence_prev.unsqueeze(-2)  # (B, N, N)
    n = link.shape[-1]
    off_diagonal = 1 - torch.eye(n, dtype=link.dtype, device=link.device)  # (N, N)
    return link * off_diagonal


def directional_weightings(
    link: torch.Tensor, read_weights_prev: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """Follow the links one write forward or backward from where each head read last:

        f^i_t = L_t w^{r,i}_{t-1},    b^i_t = L_t^T w^{r,i}_{t-1}

    link (B, N, N), read_weights_prev (B, R, N) -> forward (B, R, N), backward (B, R, N)."""
    forward = read_weights_prev @ link.transpose(1, 2)  # f[r, i] = sum_j L[i, j] w[r, j]
    backward = read_weights_prev @ link  # b[r, j] = sum_i L[i, j] w[r, i]
    return forward, backward


def read_weighting(
    read_modes: torch.Tensor,
    backward: torch.Tensor,
    content: torch.Tensor,
    forward: torch.Tensor,
) -> torch.Tensor:
    """Each head mixes its three modes (backward, content, forward):

        w^{r,i}_t = pi^i_t[1] b^i_t + pi^i_t[2] c^{r,i}_t + pi^i_t[3] f^i_t

    read_modes (B, R, 3), the weightings (B, R, N) -> (B, R, N)."""
    pi = read_modes.unsqueeze(-1)  # (B, R, 3, 1)
    return pi[:, :, 0] * backward + pi[:, :, 1] * content + pi[:, :, 2] * forward


# ---------------------------------------------------------------------------- the interface


def oneplus(x: torch.Tensor) -> torch.Tensor:
    """oneplus(x) = 1 + log(1 + e^x), a strength in [1, inf)."""
    return 1 + F.softplus(x)


@dataclass
class Interface:
    """The interface vector xi_t cut into its named pieces, through the paper's nonlinearities."""

    read_keys: torch.Tensor  # (B, R, W)      k^{r,i}
    read_strengths: torch.Tensor  # (B, R)    beta^{r,i} = oneplus
    write_key: torch.Tensor  # (B, 1, W)      k^w
    write_strength: torch.Tensor  # (B, 1)    beta^w = oneplus
    erase: torch.Tensor  # (B, W)             e = sigmoid
    write_vector: torch.Tensor  # (B, W)      v
    free_gates: torch.Tensor  # (B, R)        f^i = sigmoid
    allocation_gate: torch.Tensor  # (B, 1)   g^a = sigmoid
    write_gate: torch.Tensor  # (B, 1)        g^w = sigmoid
    read_modes: torch.Tensor  # (B, R, 3)     pi^i = softmax (backward, content, forward)

    @staticmethod
    def size(word: int, reads: int) -> int:
        """|xi| = W R + 3 W + 5 R + 3."""
        return word * reads + 3 * word + 5 * reads + 3

    @classmethod
    def parse(cls, xi: torch.Tensor, word: int, reads: int) -> Interface:
        """xi (B, |xi|) -> the pieces, in the paper's order."""
        b = xi.shape[0]
        sizes = [word * reads, reads, word, 1, word, word, reads, 1, 1, 3 * reads]
        keys, strengths, w_key, w_strength, erase, vector, free, alloc, gate, modes = xi.split(
            sizes, dim=-1
        )
        return cls(
            read_keys=keys.reshape(b, reads, word),
            read_strengths=oneplus(strengths),
            write_key=w_key.reshape(b, 1, word),
            write_strength=oneplus(w_strength),
            erase=torch.sigmoid(erase),
            write_vector=vector,
            free_gates=torch.sigmoid(free),
            allocation_gate=torch.sigmoid(alloc),
            write_gate=torch.sigmoid(gate),
            read_modes=modes.reshape(b, reads, 3).softmax(-1),
        )


# ---------------------------------------------------------------------------- the model


@dataclass
class State:
    """Everything the DNC carries from one step to the next."""

    hidden: torch.Tensor  # (B, H)       controller h_{t-1}
    cell: torch.Tensor  # (B, H)         controller c_{t-1}
    memory: torch.Tensor  # (B, N, W)    M_{t-1}
    usage: torch.Tensor  # (B, N)        u_{t-1}
    link: torch.Tensor  # (B, N, N)      L_{t-1}
    precedence: torch.Tensor  # (B, N)   p_{t-1}
    read_weights: torch.Tensor  # (B, R, N)   w^r_{t-1}
    write_weights: torch.Tensor  # (B, N)     w^w_{t-1}
    read_vectors: torch.Tensor  # (B, R, W)   r_{t-1}

    def where(self, keep_new: torch.Tensor, old: State) -> State:
        """This state where keep_new (B,) is true, `old` elsewhere (steps that are padding)."""

        def pick(new: torch.Tensor, before: torch.Tensor) -> torch.Tensor:
            mask = keep_new.reshape(-1, *([1] * (new.dim() - 1)))
            return torch.where(mask, new, before)

        return State(*(pick(getattr(self, f.name), getattr(old, f.name)) for f in fields(self)))


class DNC(nn.Module):
    """LSTM controller, an N x W memory, R read heads and one write head: (B, T, X) -> (B, T, Y)."""

    def __init__(
        self,
        inputs: int,
        outputs: int,
        hidden: int = 64,
        slots: int = 16,
        word: int = 16,
        reads: int = 1,
    ) -> None:
        super().__init__()
        self.hidden, self.slots, self.word, self.reads = hidden, slots, word, reads
        self.controller = nn.LSTMCell(inputs + reads * word, hidden)
        self.interface = nn.Linear(hidden, Interface.size(word, reads))  # W_xi
        self.output = nn.Linear(hidden + reads * word, outputs)  # W_y [h; r]

    def initial_state(self, batch: int, device: torch.device | None = None) -> State:
        """A fresh state: empty memory, nothing used, linked, read or written."""
        n, w, r, h = self.slots, self.word, self.reads, self.hidden
        dtype = self.output.weight.dtype

        def zeros(*shape: int) -> torch.Tensor:
            return torch.zeros(batch, *shape, dtype=dtype, device=device)

        return State(
            hidden=zeros(h),
            cell=zeros(h),
            memory=zeros(n, w),
            usage=zeros(n),
            link=zeros(n, n),
            precedence=zeros(n),
            read_weights=zeros(r, n),
            write_weights=zeros(n),
            read_vectors=zeros(r, w),
        )

    def step(self, x: torch.Tensor, state: State) -> tuple[torch.Tensor, State]:
        """One time step: x_t (B, X) and the state at t-1 -> y_t (B, Y) and the state at t."""
        b = x.shape[0]
        controller_in = torch.cat([x, state.read_vectors.reshape(b, -1)], dim=-1)  # [x_t; r_{t-1}]
        hidden, cell = self.controller(controller_in, (state.hidden, state.cell))  # (B, H)
        xi = Interface.parse(self.interface(hidden), self.word, self.reads)

        # write: free what was read, allocate, address, erase and add
        psi = retention(xi.free_gates, state.read_weights)  # (B, N)
        usage = usage_update(state.usage, state.write_weights, psi)  # (B, N)
        allocation = allocation_weighting(usage)  # (B, N)
        write_content = content_weighting(state.memory, xi.write_key, xi.write_strength)
        write_weights = write_weighting(
            xi.write_gate, xi.allocation_gate, allocation, write_content[:, 0]
        )  # (B, N)
        memory = memory_update(state.memory, write_weights, xi.erase, xi.write_vector)
        link = link_update(state.link, write_weights, state.precedence)  # (B, N, N)
        precedence = precedence_update(state.precedence, write_weights)  # (B, N)

        # read: content, forward and backward weightings, mixed per head
        read_content = content_weighting(memory, xi.read_keys, xi.read_strengths)  # (B, R, N)
        forward, backward = directional_weightings(link, state.read_weights)  # (B, R, N) each
        read_weights = read_weighting(xi.read_modes, backward, read_content, forward)
        read_vectors = read_weights @ memory  # (B, R, W): r^i = M_t^T w^{r,i}

        y = self.output(torch.cat([hidden, read_vectors.reshape(b, -1)], dim=-1))  # (B, Y)
        new = State(
            hidden, cell, memory, usage, link, precedence, read_weights, write_weights, read_vectors
        )
        return y, new

    def forward(self, x: torch.Tensor, present: torch.Tensor | None = None) -> torch.Tensor:
        """Outputs (B, T, Y) for inputs (B, T, X), from a fresh state. Where `present` (B, T)
        bool is false the step is padding: the state passes through it unchanged (and the
        output there means nothing)."""
        state = self.initial_state(x.shape[0], x.device)
        outputs = []
        for t in range(x.shape[1]):
            y, new = self.step(x[:, t], state)
            if present is None or bool(present[:, t].all()):
                state = new
            else:
                state = new.where(present[:, t], state)
            outputs.append(y)
        return torch.stack(outputs, dim=1)


def question_sequences(story: torch.Tensor, question: torch.Tensor) -> torch.Tensor:
    """Each example's words as one sequence: the statements oldest first, then the question,
    padding dropped, right-aligned (leading zeros) so every row ends with the question's last
    word. story (B, M, J) newest memory first, question (B, J) -> (B, T) long, T the longest."""
    b = story.shape[0]
    words = torch.cat([story.flip(1).reshape(b, -1), question], dim=-1)  # (B, M J + J)
    real = words.ne(0)
    # a stable sort moving the padding to the front keeps the words' order
    order = real.long().argsort(dim=-1, stable=True)  # (B, L): padding first, then the words
    aligned = words.gather(-1, order)
    longest = int(real.sum(-1).max()) if b else 0
    return aligned[:, aligned.shape[1] - max(longest, 1) :]


class DNCQA(nn.Module):
    """The DNC over bAbI: words in one at a time (story oldest first, then the question), the
    answer logits (B, vocab) read at the last step. Same call as MemN2N and KV-MemNN."""

    def __init__(
        self, vocab: int, hidden: int = 64, slots: int = 16, word: int = 16, reads: int = 1
    ) -> None:
        super().__init__()
        self.embedding = nn.Embedding(vocab, hidden, padding_idx=0)
        self.dnc = DNC(hidden, vocab, hidden=hidden, slots=slots, word=word, reads=reads)

    def forward(self, story: torch.Tensor, question: torch.Tensor) -> torch.Tensor:
        """Answer logits (B, vocab) for stories (B, M, J) and questions (B, J); ids 0 pad."""
        ids = question_sequences(story, question)  # (B, T)
        y = self.dnc(self.embedding(ids), present=ids.ne(0))  # (B, T, vocab)
        return y[:, -1]
