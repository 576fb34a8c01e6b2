#include "service/api_error.h"

namespace hearth::service {
namespace {

ApiError make(int status, const char* type, std::string message, std::string param = {}, std::string code = {}) {
  return ApiError{status, type, std::move(message), std::move(param), std::move(code), 0};
}

nlohmann::ordered_json string_or_null(const std::string& s) {
  return s.empty() ? nlohmann::ordered_json(nullptr) : nlohmann::ordered_json(s);
}

}  // namespace

nlohmann::ordered_json ApiError::to_json() const {
  nlohmann::ordered_json error;
  error["message"] = message;
  error["type"] = type;
  error["param"] = string_or_null(param);
  error["code"] = string_or_null(code);
  return {{"error", std::move(error)}};
}

std::string ApiError::body() const {
  return to_json().dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
}

ApiError ApiError::invalid(std::string message, std::string param, std::string code) {
  return make(400, "invalid_request_error", std::move(message), std::move(param), std::move(code));
}

ApiError ApiError::unauthorized(std::string message) {
  return make(401, "authentication_error", std::move(message), {}, "invalid_api_key");
}

ApiError ApiError::model_not_found(const std::string& model) {
  return make(404, "invalid_request_error",
              "The model " + quote_for_error(model) + " does not exist or is not available on this server.", {},
              "model_not_found");
}

ApiError ApiError::not_found(std::string message) { return make(404, "not_found_error", std::move(message)); }

ApiError ApiError::too_large(size_t limit_bytes) {
  return make(413, "invalid_request_error",
              "The request body is too large: the limit is " + std::to_string(limit_bytes) + " bytes.", {},
              "request_too_large");
}

ApiError ApiError::rate_limited(std::string message, int retry_after) {
  ApiError e = make(429, "rate_limit_error", std::move(message), {}, "rate_limit_exceeded");
  e.retry_after = retry_after;
  return e;
}

ApiError ApiError::unavailable(std::string message, int retry_after) {
  ApiError e = make(503, "server_error", std::move(message), {}, "service_unavailable");
  e.retry_after = retry_after;
  return e;
}

ApiError ApiError::server(std::string message) { return make(500, "server_error", std::move(message)); }

std::string quote_for_error(std::string_view text, size_t max_bytes) {
  if (text.size() <= max_bytes) return "'" + std::string(text) + "'";
  size_t cut = max_bytes;
  while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80) --cut;  // not inside a character
  return "'" + std::string(text.substr(0, cut)) + "...'";
}

}  // namespace hearth::service
