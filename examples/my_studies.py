"""A study defined outside genstudy: how good is a β = 1 MLP VAE with a small code (2 to 16 dimensions)?

    genstudy list --studies examples/my_studies.py
    genstudy run vae_small_code --profile smoke --studies examples/my_studies.py --data-root ../shared/data

(or ``export GENSTUDY_STUDIES=examples/my_studies.py``; a package can list its studies under the
``genstudy.studies`` entry point group instead). A study trains one of genstudy's families (``vae``,
``gan``, ``dann`` ...) and is checked like the built-in ones: a validation metric, smoke / quick / full
profiles, a space whose configs build.
"""

from search_spaces import Params, Profile, Study
from trainables import metric_names as M


def small_code_space(p: Params) -> dict:
    """Code size, width and learning rate of a two-layer MLP VAE."""
    return {
        "latent_dim": p.int("latent_dim", 2, 16, log=True),  # 2: a plane to plot; 16: where MNIST's ELBO flattens
        "width": p.int("width", 64, 512, log=True),  # pytorch/examples uses 400
        "lr": p.float("lr", 3e-4, 3e-3, log=True),  # Adam around 1e-3 (Kingma & Welling)
    }


PROFILES = {
    "smoke": Profile(num_samples=3, max_epochs=2, grace_period=1, reduction_factor=2,  # well under a minute
                     fixed={"train_size": 2000, "image_every": 2}),
    "quick": Profile(num_samples=8, max_epochs=10, grace_period=2, fixed={"image_every": 5}),
    "full": Profile(num_samples=50, max_epochs=50, grace_period=5, max_concurrent=8, fixed={"image_every": 10}),
}

STUDIES = [
    Study(
        name="vae_small_code",
        description="How good is a beta = 1 MLP VAE with a 2 to 16 dimensional code?",
        family="vae",
        metric=M.VAL_NELBO,
        mode="min",
        space=small_code_space,
        profiles=PROFILES,
        fixed={"dataset": "mnist", "arch": "mlp", "depth": 2, "beta": 1.0, "likelihood": "bernoulli"},
        run_name_keys=("latent_dim", "width"),
    ),
]
