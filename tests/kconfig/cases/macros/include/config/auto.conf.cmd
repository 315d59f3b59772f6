deps_config := \
	sub/extra.kconfig \
	Kconfig

include/config/auto.conf: \
	$(deps_config)

ifneq "$(BOARD_NAME)" "devkit"
include/config/auto.conf: FORCE
endif
ifneq "$(SUBDIR_NAME)" "extra"
include/config/auto.conf: FORCE
endif

$(deps_config): ;
