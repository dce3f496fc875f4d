"""A small distributed training loop fed by llm-retriever-data, checkpointed and resumable.

    PYTHONPATH=python torchrun --nproc_per_node 2 examples/pytorch/train.py --max_steps 20 \
        --checkpoint /tmp/ckpt.pt -- --train_data examples/data/retrieval --per_device_train_batch_size 4

Everything after ``--`` is dump's arguments. Each rank reads its own slice (torchrun's RANK and
WORLD_SIZE reach the data process); the model is a toy (token embeddings, mean pooling, InfoNCE with
in-batch negatives as FlagEmbedding computes it), trained with DistributedDataParallel on CPU (gloo).
Rank 0 saves the model, the optimizer and the data position; a rerun with the same checkpoint path
continues exactly where it stopped. ``--record DIR`` writes what each rank received (for checks).
"""
import argparse
import json
import os
import sys
from pathlib import Path

import torch
import torch.distributed as dist
import torch.nn.functional as F
from torch.nn.parallel import DistributedDataParallel

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "python"))  # the checkout's package
from llm_retriever_data import FlagEmbeddingBatches, as_flagembedding_inputs  # noqa: E402


class TinyEmbedder(torch.nn.Module):
    """Token embeddings, masked mean pooling, normalized: a stand-in for an LLM embedder."""

    def __init__(self, vocab_size: int = 32768, dim: int = 16):
        super().__init__()
        self.embed = torch.nn.Embedding(vocab_size, dim)

    def encode(self, inputs):
        mask = inputs["attention_mask"].unsqueeze(-1).float()
        pooled = (self.embed(inputs["input_ids"]) * mask).sum(1) / mask.sum(1).clamp(min=1)
        return F.normalize(pooled, dim=-1)

    def forward(self, queries, passages, teacher_scores=None, no_in_batch_neg_flag=False):
        q, p = self.encode(queries), self.encode(passages)
        group = p.shape[0] // q.shape[0]
        if no_in_batch_neg_flag:  # each query against its own group only
            scores = (q.unsqueeze(1) * p.view(q.shape[0], group, -1)).sum(-1)
            target = torch.zeros(q.shape[0], dtype=torch.long)
        else:  # every passage of the batch is a negative; the positive is the first of each group
            scores = q @ p.T
            target = torch.arange(q.shape[0]) * group
        return F.cross_entropy(scores / 0.02, target)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--max_steps", type=int, required=True, help="train until this many steps in all (counting resumed ones)")
    parser.add_argument("--checkpoint", help="save to (and resume from) this file")
    parser.add_argument("--save_every", type=int, default=0, help="also save every N steps (default: only at the end)")
    parser.add_argument("--record", help="write each received batch to DIR/rank<r>.jsonl")
    own, dump_args = (sys.argv[1:sys.argv.index("--")], sys.argv[sys.argv.index("--") + 1:]) if "--" in sys.argv else (sys.argv[1:], [])
    options = parser.parse_args(own)

    dist.init_process_group("gloo")
    rank = dist.get_rank()
    torch.manual_seed(0)
    model = DistributedDataParallel(TinyEmbedder())
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    batches = FlagEmbeddingBatches(dump_args)
    step = 0
    if options.checkpoint and os.path.exists(options.checkpoint):
        checkpoint = torch.load(options.checkpoint)
        model.module.load_state_dict(checkpoint["model"])
        optimizer.load_state_dict(checkpoint["optimizer"])
        batches.load_state_dict(checkpoint["data"])  # one state resumes every rank
        step = checkpoint["step"]

    def save() -> None:
        if options.checkpoint and rank == 0:
            state = {"model": model.module.state_dict(), "optimizer": optimizer.state_dict(), "data": batches.state_dict(), "step": step}
            torch.save(state, options.checkpoint + ".tmp")
            os.replace(options.checkpoint + ".tmp", options.checkpoint)
        dist.barrier()

    record = open(Path(options.record) / f"rank{rank}.jsonl", "a") if options.record else None
    loader = torch.utils.data.DataLoader(batches, batch_size=None)  # num_workers=0: the data has its own process
    while step < options.max_steps:  # without --steps in dump_args, one iteration is the rest of an epoch
        for batch in loader:
            loss = model(**as_flagembedding_inputs(batch))
            optimizer.zero_grad()
            loss.backward()  # DDP averages the gradients of all ranks (all_reduce)
            optimizer.step()
            tokens = torch.tensor([int(batch["q_mask"].sum() + batch["p_mask"].sum())])
            dist.all_reduce(tokens)  # the tokens of this step on all ranks
            step += 1
            if record:
                record.write(json.dumps({
                    "global_step": batch["global_step"], "epoch": batch["epoch"], "rank": batch["rank"],
                    "example_indices": batch["example_indices"].tolist(), "no_in_batch_neg": batch["no_in_batch_neg"],
                    "teacher_scores": None if batch["teacher_scores"] is None else batch["teacher_scores"].tolist(),
                    **{name: batch[name].tolist() for name in ("q_ids", "q_mask", "p_ids", "p_mask")},
                    "tokens_all_ranks": int(tokens), "loss": loss.item(),
                }) + "\n")
            if options.save_every and step % options.save_every == 0:
                save()
            if step == options.max_steps:
                break
    save()
    if rank == 0:
        print(f"rank 0: at step {step} of {options.max_steps}", flush=True)
    dist.destroy_process_group()


if __name__ == "__main__":
    main()
