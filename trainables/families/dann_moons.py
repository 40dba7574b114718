"""The shallow DANN on the two moons (Ganin et al. 2016, section 5.1.1): ``reports`` reports a trial."""

from trainables.dann_moons import train
from trainables.data.moons import load_moons
from trainables.family import Family
from trainables.models.dann import build_moons_model

FAMILY = Family("dann_moons", train, build_moons_model, load_data=load_moons)
