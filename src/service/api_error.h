// ApiError: an HTTP status plus OpenAI's error body
// {"error": {"message", "type", "param", "code"}}, and ApiException, which
// carries one out of the request parsers to the HTTP layer.
#pragma once

#include <cstddef>
#include <exception>
#include <string>
#include <string_view>
#include <utility>

#include <nlohmann/json.hpp>

namespace hearth::service {

struct ApiError {
  int status = 400;
  std::string type;     // invalid_request_error, authentication_error, not_found_error, ...
  std::string message;
  std::string param;    // the offending parameter's path ("messages[2].content"); empty: null
  std::string code;     // a machine-readable detail ("invalid_type"); empty: null
  int retry_after = 0;  // seconds for a Retry-After header (429, 503); 0: none

  nlohmann::ordered_json to_json() const;
  // to_json() serialized; never throws on bad UTF-8 (replaced), so it is safe to send.
  std::string body() const;

  // 400 invalid_request_error.
  static ApiError invalid(std::string message, std::string param = {}, std::string code = {});
  // 401 authentication_error, code invalid_api_key.
  static ApiError unauthorized(std::string message);
  // 404 invalid_request_error, code model_not_found (as OpenAI answers an unknown model).
  static ApiError model_not_found(const std::string& model);
  // 404 not_found_error (an unknown route or object).
  static ApiError not_found(std::string message);
  // 413 invalid_request_error, code request_too_large.
  static ApiError too_large(size_t limit_bytes);
  // 429 rate_limit_error, with a Retry-After of retry_after seconds.
  static ApiError rate_limited(std::string message, int retry_after = 1);
  // 503 server_error: the server cannot take the request now (loading is
  // impossible under the memory budget, or it is shutting down).
  static ApiError unavailable(std::string message, int retry_after = 1);
  // 500 server_error.
  static ApiError server(std::string message);
};

class ApiException : public std::exception {
 public:
  explicit ApiException(ApiError error) : error_(std::move(error)) {}
  const ApiError& error() const noexcept { return error_; }
  int status() const noexcept { return error_.status; }
  const char* what() const noexcept override { return error_.message.c_str(); }

 private:
  ApiError error_;
};

// `text` quoted for an error message: at most max_bytes (cut on a UTF-8
// boundary, "..." marking the cut), so a client's huge value is never echoed.
std::string quote_for_error(std::string_view text, size_t max_bytes = 80);

}  // namespace hearth::service
