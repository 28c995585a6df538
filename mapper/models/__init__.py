"""Small trained reference models (MNIST) for accuracy under non-idealities: data, networks, weights."""
