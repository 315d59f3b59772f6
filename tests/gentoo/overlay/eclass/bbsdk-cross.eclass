# bbsdk test repository: the few helpers its ebuilds share.
# @ECLASS: bbsdk-cross.eclass
# @SUPPORTED_EAPIS: 8
# @BLURB: cross-compiler and pkg-config names for a CHOST build

case ${EAPI} in
	8) ;;
	*) die "${ECLASS}: EAPI ${EAPI:-0} not supported" ;;
esac

if [[ -z ${_BBSDK_CROSS_ECLASS} ]]; then
_BBSDK_CROSS_ECLASS=1

# @FUNCTION: bbsdk_tool
# @USAGE: <variable> <program>
# @DESCRIPTION:
# Prints the value of the variable when it is set (make.conf sets CC and
# friends), else the program prefixed with ${CHOST}.
bbsdk_tool() {
	local var=$1 prog=$2
	if [[ -n ${!var} ]]; then
		echo "${!var}"
	else
		echo "${CHOST}-${prog}"
	fi
}

# @FUNCTION: bbsdk_emake
# @DESCRIPTION:
# emake with the cross tools and the flags of make.conf on its command line.
bbsdk_emake() {
	emake \
		CC="$(bbsdk_tool CC gcc)" \
		AR="$(bbsdk_tool AR ar)" \
		PKG_CONFIG="$(bbsdk_tool PKG_CONFIG pkg-config)" \
		CFLAGS="${CFLAGS}" \
		LDFLAGS="${LDFLAGS}" \
		PREFIX="${EPREFIX}/usr" \
		"$@"
}

fi
