# bbsdk test repository
EAPI=8

inherit bbsdk-cross

DESCRIPTION="A program linking libhello through pkg-config (bbsdk test)"
HOMEPAGE="https://bbsdk.invalid/hello"
SRC_URI="https://bbsdk.invalid/src/${P}.tar"
LICENSE="MIT"
SLOT="0"
KEYWORDS="amd64 arm64 arm"

DEPEND="dev-libs/libhello:="
RDEPEND="${DEPEND}"
# Satisfied by the build machine's pkg-config, which bbsdk describes to
# Portage as installed.
BDEPEND="virtual/pkgconfig"

src_compile() {
	bbsdk_emake
}

src_install() {
	bbsdk_emake DESTDIR="${D}" install
}
