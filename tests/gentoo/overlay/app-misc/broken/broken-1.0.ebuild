# bbsdk test repository
EAPI=8

DESCRIPTION="Fails to compile on purpose: bbsdk's emerge error report (bbsdk test)"
HOMEPAGE="https://bbsdk.invalid/broken"
S="${WORKDIR}"
LICENSE="MIT"
SLOT="0"
KEYWORDS="amd64 arm64 arm"

src_compile() {
	echo "compiling the broken test package"
	die "broken on purpose"
}
