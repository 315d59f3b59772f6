# bbsdk test repository
EAPI=8

inherit bbsdk-cross

DESCRIPTION="A small shared library with a pkg-config file (bbsdk test)"
HOMEPAGE="https://bbsdk.invalid/libhello"
SRC_URI="https://bbsdk.invalid/src/${P}.tar"
LICENSE="MIT"
SLOT="0/1"
KEYWORDS="amd64 arm64 arm"

src_compile() {
	bbsdk_emake
}

src_install() {
	bbsdk_emake DESTDIR="${D}" install
	dodoc README
}
