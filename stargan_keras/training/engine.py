"""The StarGAN training engine: a keras.Model whose train_step is the paper's objectives."""

from __future__ import annotations

import keras
import tensorflow as tf

from stargan_keras.labels import LabelLayout
from stargan_keras.models import Discriminator, Generator
from stargan_keras.training import augment, losses


def metric_names(adv_loss: str = "wgan-gp", attention_penalty: bool = False,
                 classifier_penalty: bool = False) -> tuple[str, ...]:
    """The loss terms a train_step logs: the official seven, with R1 in place of the
    gradient penalty for ``adv_loss="r1"``, and the recipe's penalties when they count."""
    d_names = ("D/loss_real", "D/loss_fake", "D/loss_cls",
               "D/loss_r1" if adv_loss == "r1" else "D/loss_gp")
    d_names += ("D/loss_cls_r1",) if classifier_penalty else ()
    g_names = ("G/loss_fake", "G/loss_rec", "G/loss_cls")
    return d_names + g_names + (("G/loss_mask",) if attention_penalty else ())


class StarGAN(keras.Model):
    """G and D trained together (Choi et al. 2018, eqs. 1-7).

    One ``train_step`` is one n_critic cycle of the official loop: n_critic iterations on
    consecutive slices of the batch, each a D update per label set, and on the last
    iteration a G update on the same slice right after each D update. In joint training
    that is the official "Both" order: D_CelebA, G_CelebA, D_RaFD, G_RaFD.
    Carrying the whole cycle in one step keeps the schedule free of ``tf.cond`` around
    ``apply_gradients``, which MirroredStrategy cannot merge.

    A batch (see ``data.pipeline.training_batches``) is a dict of ``images``
    [n_critic * S * b, H, W, 3], ``labels`` and ``target_labels`` [..., layout.width]
    and ``alpha`` [...] (the gradient penalty's interpolation weights), ordered
    iteration-major then label set. All randomness lives in the batch, so a step is a
    pure function of the weights and the batch.

    The defaults are the paper's objectives. The fast recipe's options (docs/recipes.md):

    * ``adv_loss="r1"``: the non-saturating GAN loss with the R1 penalty
      (gamma / 2) E[||grad D_src(x_real)||^2] (Mescheder et al. 2018; StarGAN v2) instead
      of WGAN-GP; it needs no interpolates, so the batch's ``alpha`` is unused.
    * ``lambda_mask``: with an attention-mask G, the regulariser E[1 - mask] on the fake
      and the reconstruction, which keeps the mask from settling on "change nothing"
      (GANimation's mask loss, in this mask's convention).
    * ``ema_decay``: a moving average of G's weights, updated after each G update, for
      samples, evaluation, translation and export (StarGAN v2 uses 0.999).
    * ``augment``: DiffAugment on every image D sees, real and fake (``augment.py``).
    * ``lambda_cls_r1`` (with ``adv_loss="r1"``): R1 on D's classifier, the penalty
      0.5 E[||grad_x L_cls(D_cls(x_real), c)||^2]. A classifier that is smooth around
      real images cannot be flipped by a few pixels, so G must draw the attribute
      (input-gradient regularisation, Drucker & LeCun 1992; Ross & Doshi-Velez 2018).

    Args:
        generator, discriminator: the networks.
        layout: the label layout (label sets and mask vector).
        lambda_cls, lambda_rec, lambda_gp: loss weights.
        n_critic: D updates per G update.
        adv_loss: "wgan-gp" (official) or "r1".
        lambda_r1: the R1 weight gamma.
        lambda_mask: weight of the mask regulariser (0: none).
        ema_decay: decay of the moving average of G's weights (0: none).
        augment: DiffAugment policy, names from ``augment.AUGMENTATIONS``.
        lambda_cls_r1: weight of the classifier's R1 penalty (0: none).
    """

    def __init__(self, generator: Generator, discriminator: Discriminator, layout: LabelLayout,
                 lambda_cls: float = 1.0, lambda_rec: float = 10.0, lambda_gp: float = 10.0,
                 n_critic: int = 5, adv_loss: str = "wgan-gp", lambda_r1: float = 1.0,
                 lambda_mask: float = 0.0, ema_decay: float = 0.0,
                 augment: tuple[str, ...] = (), lambda_cls_r1: float = 0.0, **kwargs):
        super().__init__(**kwargs)
        if generator.c_dim != layout.width:
            raise ValueError(f"generator c_dim {generator.c_dim} != label width {layout.width}")
        if discriminator.c_dim != layout.logits_dim:
            raise ValueError(
                f"discriminator c_dim {discriminator.c_dim} != label count {layout.logits_dim}")
        self.generator, self.discriminator, self.layout = generator, discriminator, layout
        self.lambda_cls, self.lambda_rec, self.lambda_gp = lambda_cls, lambda_rec, lambda_gp
        self.n_critic = n_critic
        self.adv_loss, self.lambda_r1, self.lambda_mask = adv_loss, lambda_r1, lambda_mask
        self.ema_decay, self.augment_policy = ema_decay, tuple(augment)
        self.lambda_cls_r1 = lambda_cls_r1 if adv_loss == "r1" else 0.0
        self.metric_names = metric_names(adv_loss, generator.attention and lambda_mask > 0,
                                         self.lambda_cls_r1 > 0)
        self.ema_weights: dict[str, keras.Variable] = {}
        self._averaged_generator: Generator | None = None

    def compile(self, g_optimizer: keras.optimizers.Optimizer,
                d_optimizer: keras.optimizers.Optimizer, **kwargs):
        # optimizer=None: Keras would otherwise add an unused RMSprop over every weight.
        super().compile(optimizer=None, **kwargs)
        self.g_optimizer, self.d_optimizer = g_optimizer, d_optimizer

    def build_all(self, image_size: int) -> None:
        """Create every variable (networks and optimizer slots), e.g. before a restore."""
        if not self.generator.built:
            self.generator.build(((None, image_size, image_size, 3), (None, self.layout.width)))
        if not self.discriminator.built:
            self.discriminator.build((None, image_size, image_size, 3))
        self.g_optimizer.build(self.generator.trainable_variables)
        self.d_optimizer.build(self.discriminator.trainable_variables)
        if self.ema_decay and not self.ema_weights:
            # Updated in each replica from identical G weights: the first replica's
            # assignment is every replica's.
            self.ema_weights = {
                _key(w): keras.Variable(w.numpy(), trainable=False, name=f"ema_{w.name}",
                                        aggregation="only_first_replica")
                for w in self.generator.weights}
        self.built = True

    def averaged_generator(self) -> Generator:
        """G for samples and evaluation: a copy holding the moving average of G's weights
        when one is kept, else G itself."""
        if not self.ema_weights:
            return self.generator
        if self._averaged_generator is None:
            self._averaged_generator = Generator.from_config(self.generator.get_config())
            size = self.discriminator.image_size
            self._averaged_generator.build(((None, size, size, 3), (None, self.layout.width)))
        for weight in self._averaged_generator.weights:
            weight.assign(self.ema_weights[_key(weight)])
        return self._averaged_generator

    @property
    def iteration(self) -> tf.Tensor:
        """Training iterations done: D updates divided by the label sets per iteration."""
        return self.d_optimizer.iterations // len(self.layout.label_sets)

    def call(self, inputs):
        return self.generator(inputs)

    def split_cycle(self, batch) -> tuple[tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor]:
        """(images, labels, target_labels, alpha) of a batch, each [n_critic, sets, b, ...]."""
        sets = len(self.layout.label_sets)

        def cycle(key):
            value = batch[key]
            return tf.reshape(value, [self.n_critic, sets, -1] + list(value.shape[1:]))

        return tuple(cycle(k) for k in ("images", "labels", "target_labels", "alpha"))

    def train_step(self, batch):
        sets = len(self.layout.label_sets)
        images, labels, targets, alpha = self.split_cycle(batch)
        logs = {}
        for t in range(self.n_critic):
            for s in range(sets):
                update_logs = self.d_update(images[t, s], labels[t, s], targets[t, s],
                                            alpha[t, s])
                if t < self.n_critic - 1:
                    continue
                # G follows D on the same set before the next set's D update (the
                # official order), so that D update already sees this G update's fakes.
                update_logs.update(self.g_update(images[t, s], labels[t, s], targets[t, s]))
                # The last iteration's terms, averaged over the label sets.
                for name, value in update_logs.items():
                    logs[name] = logs.get(name, 0.0) + value / sets
        if self.ema_weights:
            self.update_average()
        return logs

    def _scaled(self, loss: tf.Tensor, optimizer) -> tf.Tensor:
        # Gradients are summed over replicas: dividing each replica's mean loss by the
        # replica count makes the update that of the mean over the global batch.
        loss = loss / tf.distribute.get_strategy().num_replicas_in_sync
        if self._loss_scale(optimizer) is not None:
            loss = optimizer.scale_loss(loss)  # apply_gradients unscales
        return loss

    def _loss_scale(self, optimizer) -> tf.Tensor | None:
        """float16's dynamic loss scale (None without loss scaling)."""
        if isinstance(optimizer, keras.optimizers.LossScaleOptimizer):
            return optimizer.dynamic_scale
        return None

    def update_average(self) -> None:
        """EMA of G's weights. The decay ramps up as min(decay, (1 + t) / (10 + t)) over
        the first G updates t (tf.train.ExponentialMovingAverage's num_updates), so that
        the random initial weights do not linger in a short run's average."""
        t = tf.cast(self.g_optimizer.iterations, tf.float32)
        decay = tf.minimum(self.ema_decay, (1.0 + t) / (10.0 + t))
        for weight in self.generator.weights:
            average = self.ema_weights[_key(weight)]
            average.assign(decay * average + (1.0 - decay) * weight)

    def _seen_by_d(self, images: tf.Tensor, optimizer, salt: int) -> tf.Tensor:
        """``images`` as D sees them: augmented when a DiffAugment policy is set, with
        draws that are a pure function of the update count (so resume repeats them)."""
        if not self.augment_policy:
            return images
        replica = tf.distribute.get_replica_context()
        replica_id = replica.replica_id_in_sync_group if replica is not None else 0
        seed = tf.stack([tf.cast(optimizer.iterations, tf.int32) * 2 + salt,
                         tf.cast(replica_id, tf.int32)])
        return augment.augment(images, self.augment_policy, seed)

    def d_update(self, x_real, c_org, c_trg, alpha):
        """One D update on one slice; returns its loss terms."""
        x_fake = tf.stop_gradient(self.generator([x_real, c_trg], training=True))
        weights = self.discriminator.trainable_variables
        with tf.GradientTape() as tape:
            # Real and fake share one augmentation call, so each gets its own draws.
            seen = self._seen_by_d(tf.concat([x_real, x_fake], 0), self.d_optimizer, 0)
            seen_real = seen[:tf.shape(x_real)[0]]
            # D has no batch-dependent layers, so one call on real and fake images
            # together equals two calls, with half the per-layer overhead.
            src, cls = self.discriminator(seen, training=True)
            src_real, src_fake = tf.split(src, 2)
            cls_real = cls[:tf.shape(x_real)[0]]
            logs = {"D/loss_cls": losses.classification_loss(self.layout, cls_real, c_org)}
            if self.adv_loss == "r1":
                logs["D/loss_real"] = losses.nonsaturating_real(src_real)
                logs["D/loss_fake"] = losses.nonsaturating_fake(src_fake)
                logs["D/loss_r1"] = losses.r1_penalty(self.penalty_gradient(seen_real))
                penalty = self.lambda_r1 * logs["D/loss_r1"]
                if self.lambda_cls_r1:
                    logs["D/loss_cls_r1"] = losses.r1_penalty(
                        self.penalty_gradient(seen_real, c_org))
                    penalty += self.lambda_cls_r1 * logs["D/loss_cls_r1"]
            else:
                alpha = tf.reshape(alpha, (-1, 1, 1, 1))
                x_hat = alpha * seen_real + (1.0 - alpha) * seen[tf.shape(x_real)[0]:]
                logs["D/loss_real"] = losses.adversarial_real(src_real)
                logs["D/loss_fake"] = losses.adversarial_fake(src_fake)
                logs["D/loss_gp"] = losses.gradient_penalty(self.penalty_gradient(x_hat))
                penalty = self.lambda_gp * logs["D/loss_gp"]
            total = (logs["D/loss_real"] + logs["D/loss_fake"]
                     + self.lambda_cls * logs["D/loss_cls"] + penalty)
            scaled = self._scaled(total, self.d_optimizer)
        grads = tape.gradient(scaled, weights)
        self.d_optimizer.apply_gradients(zip(grads, weights))
        return {name: logs[name] for name in self.metric_names if name in logs}  # in order

    def penalty_gradient(self, x_hat: tf.Tensor, labels: tf.Tensor | None = None
                         ) -> tf.Tensor:
        """d(sum of D_src(x_hat))/d(x_hat), differentiable again for the penalty's update;
        with ``labels``, the gradient of the summed classification loss instead.

        With float16 loss scaling the inner target is scaled like the outer loss, so that
        small float16 gradients inside D do not underflow, and the result is unscaled. An
        overflow makes the update's gradients non-finite: LossScaleOptimizer then skips
        the update and halves the scale.
        """
        loss_scale = self._loss_scale(self.d_optimizer)
        with tf.GradientTape() as tape:
            tape.watch(x_hat)
            src, cls = self.discriminator(x_hat, training=True)
            if labels is None:
                target = tf.reduce_sum(src)
            else:  # the batch mean times the batch: each image's own loss
                target = (losses.classification_loss(self.layout, cls, labels)
                          * tf.cast(tf.shape(cls)[0], cls.dtype))
            if loss_scale is not None:
                target *= loss_scale
        gradient = tape.gradient(target, x_hat)
        return gradient if loss_scale is None else gradient / loss_scale

    def g_update(self, x_real, c_org, c_trg):
        """One G update on one slice; returns its loss terms."""
        weights = self.generator.trainable_variables
        with tf.GradientTape() as tape:
            x_fake, mask_fake = self.generator([x_real, c_trg], training=True, return_mask=True)
            seen = self._seen_by_d(x_fake, self.g_optimizer, 1)
            src_fake, cls_fake = self.discriminator(seen, training=True)
            x_rec, mask_rec = self.generator([x_fake, c_org], training=True, return_mask=True)
            adversarial = (losses.nonsaturating_generator if self.adv_loss == "r1"
                           else losses.generator_adversarial)
            logs = {
                "G/loss_fake": adversarial(src_fake),
                "G/loss_rec": losses.reconstruction(x_real, x_rec),
                "G/loss_cls": losses.classification_loss(self.layout, cls_fake, c_trg),
            }
            total = (logs["G/loss_fake"] + self.lambda_rec * logs["G/loss_rec"]
                     + self.lambda_cls * logs["G/loss_cls"])
            if "G/loss_mask" in self.metric_names:
                logs["G/loss_mask"] = losses.mask_penalty(tf.concat([mask_fake, mask_rec], 0))
                total += self.lambda_mask * logs["G/loss_mask"]
            scaled = self._scaled(total, self.g_optimizer)
        grads = tape.gradient(scaled, weights)
        self.g_optimizer.apply_gradients(zip(grads, weights))
        return logs


def _key(weight) -> str:
    """A weight's path within G ("generator/res0/conv1/kernel" -> "res0/conv1/kernel"):
    the same key for G, its moving average and its checkpoint entries."""
    return weight.path.split("/", 1)[1]
