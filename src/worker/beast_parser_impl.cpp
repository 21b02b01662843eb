// The one translation unit that compiles the part of Beast corral uses, its HTTP/1
// parser (BOOST_BEAST_SEPARATE_COMPILATION): the files of boost/beast/src.hpp that
// the parser needs, without WebSocket, zlib, files or Asio's own implementation, which
// the worker does not use.
#define BOOST_BEAST_SOURCE
// Beast 1.74's chunk parser asserts that a re-entered final chunk has 5 bytes, but a
// client that sends "0\r\n" and then "\r" separately re-enters it with 4, which the
// code after the assertion handles correctly (found by tests/fuzz; the regression is
// RequestParser.FinalChunkInPieces). With assertions on (debug builds), any client
// could abort a worker that way; release builds (NDEBUG) never checked. Memory safety
// of the parser is checked by the fuzz targets under ASan instead.
#define BOOST_DISABLE_ASSERTS

#include <boost/assert.hpp>
#include <boost/beast/core/detail/config.hpp>
#include <boost/beast/core/impl/error.ipp>
#include <boost/beast/core/impl/string.ipp>
#include <boost/beast/http/detail/basic_parser.ipp>
#include <boost/beast/http/detail/rfc7230.ipp>
#include <boost/beast/http/impl/basic_parser.ipp>
#include <boost/beast/http/impl/error.ipp>
#include <boost/beast/http/impl/field.ipp>
#include <boost/beast/http/impl/rfc7230.ipp>
#include <boost/beast/http/impl/status.ipp>
#include <boost/beast/http/impl/verb.ipp>
