rootProject.name = "trove"
