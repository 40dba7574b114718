"""The deep DANN, MNIST -> MNIST-M (Ganin et al. 2016, section 5.2.4): ``reports_per_epoch`` reports an epoch."""

from trainables.dann import train
from trainables.dann_reference import prepare_reference
from trainables.data.mnist_m_domains import load_mnist_m_domains
from trainables.family import Family
from trainables.models.dann import build_dann

FAMILY = Family("dann", train, build_dann, load_data=load_mnist_m_domains, prepare=prepare_reference)
