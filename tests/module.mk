# tests/: unit tests live in tests/unit, integration scripts in tests/integration, fuzz targets
# in tests/fuzz. Each part's module.mk adds its own; this file holds the shared pieces.
CMOCKA_LIBS := $(call pc_libs,cmocka)
