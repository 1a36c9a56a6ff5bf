"""Shared training for the attackers that are PyTorch networks: standardise, train, keep the best validation epoch."""

from __future__ import annotations

import copy

import torch
from torch import nn

from attrunlearn_core.attackers.base import Attacker, FitData
from attrunlearn_core.divergence import check_finite_steps


class NeuralAttacker(Attacker):
    def build(self, feature_shape: tuple[int, ...], num_classes: int) -> nn.Module:
        raise NotImplementedError

    def fit(self, data: FitData) -> NeuralAttacker:
        recipe = self.recipe
        generator = torch.Generator().manual_seed(self.seed)
        torch.manual_seed(self.seed)
        self.mean = data.fit_x.mean(0, keepdim=True)
        self.std = data.fit_x.std(0, keepdim=True).clamp_min(1e-6)
        fit_x, val_x = self._standardise(data.fit_x), self._standardise(data.val_x)
        self.model = self.build(tuple(fit_x.shape[1:]), data.num_classes).to(self.device)
        optimizer = torch.optim.AdamW(self.model.parameters(), lr=recipe.lr, weight_decay=recipe.weight_decay)
        best_accuracy, best_state, stale = -1.0, None, 0
        if torch.device(self.device).type == "cuda":  # the pool lives on the GPU, so no step waits on a copy from the host
            fit_x, fit_z = fit_x.to(self.device), data.fit_z.to(self.device)
        else:
            fit_z = data.fit_z
        for epoch in range(recipe.max_epochs):
            self.model.train()
            order = torch.randperm(len(fit_x), generator=generator)
            losses = []  # on the device, read once per epoch: a GPU never waits inside one
            for start in range(0, len(order), recipe.batch_size):
                index = order[start : start + recipe.batch_size]
                if len(index) < 2:  # BatchNorm needs two samples
                    continue
                loss = nn.functional.cross_entropy(self.model(fit_x[index].to(self.device)), fit_z[index].to(self.device))
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
                losses.append(loss.detach().float())
            if losses:
                check_finite_steps(torch.stack(losses).cpu(), f"attacker {self.name}, epoch {epoch + 1},")
            accuracy = (self._predict_standardised(val_x) == data.val_z).float().mean().item()
            if accuracy > best_accuracy:
                best_accuracy, best_state, self.best_epoch, stale = accuracy, copy.deepcopy(self.model.state_dict()), epoch + 1, 0
            else:
                stale += 1
                if stale >= recipe.patience:
                    break
        self.model.load_state_dict(best_state)
        self.validation_accuracy = best_accuracy
        return self

    def predict(self, x: torch.Tensor) -> torch.Tensor:
        return self._predict_standardised(self._standardise(x))

    def _standardise(self, x: torch.Tensor) -> torch.Tensor:
        return (x.float() - self.mean) / self.std

    @torch.no_grad()
    def _predict_standardised(self, x: torch.Tensor, batch_size: int = 1024) -> torch.Tensor:
        self.model.eval()
        return torch.cat([self.model(x[i : i + batch_size].to(self.device)).argmax(1).cpu() for i in range(0, len(x), batch_size)])
