module lab.local/clusterproof-images

go 1.24.0
