// The one translation unit that compiles the part of Beast corral uses, its HTTP/1
// parser (BOOST_BEAST_SEPARATE_COMPILATION): the files of boost/beast/src.hpp that
// the parser needs, without WebSocket, zlib, files or Asio's own implementation, which
// the worker does not use.
#define BOOST_BEAST_SOURCE

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
