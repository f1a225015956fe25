// SPDX-License-Identifier: Apache-2.0
#pragma once
// sim::Result<T, E>: a value or an error, with std::expected's member names so that moving to
// C++23 is a search-and-replace. Cores return these; adapters map errors to the wire.

#include <string>
#include <type_traits>
#include <utility>
#include <variant>

namespace sim {

/// What the caller should do about an error decides its code (abseil status.h style).
enum class ErrorCode {
    kInvalidArgument,     ///< The input is wrong: fix the request, do not retry.
    kNotFound,            ///< A named thing does not exist.
    kAlreadyExists,       ///< Creating something that exists with a different definition.
    kFailedPrecondition,  ///< State must change first (e.g. deactivate before delete).
    kPermissionDenied,    ///< Not allowed by policy or configuration.
    kResourceExhausted,   ///< A limit was reached (count, size, rate).
    kUnavailable,         ///< Transient: retry later (port busy, peer not up yet).
    kIo,                  ///< The file system or a socket failed.
    kInternal,            ///< A bug or a library failure we did not expect.
};

/// A short, stable name for logs and messages ("invalid_argument").
const char* ToString(ErrorCode code) noexcept;

struct Error {
    ErrorCode code = ErrorCode::kInternal;
    std::string message;  ///< One line, names the file, field or step that failed.
};

template <class E>
class Unexpected {
public:
    explicit Unexpected(E error) : error_(std::move(error)) {}
    const E& error() const& { return error_; }
    E&& error() && { return std::move(error_); }

private:
    E error_;
};

inline Unexpected<Error> MakeError(ErrorCode code, std::string message) {
    return Unexpected<Error>(Error{code, std::move(message)});
}

template <class T, class E = Error>
class [[nodiscard]] Result {
public:
    using value_type = T;
    using error_type = E;

    template <class U = T,
              class = std::enable_if_t<std::is_constructible_v<T, U&&> &&
                                       !std::is_same_v<std::decay_t<U>, Result> &&
                                       !std::is_same_v<std::decay_t<U>, Unexpected<E>>>>
    Result(U&& value) : storage_(std::in_place_index<0>, std::forward<U>(value)) {}  // NOLINT
    Result(Unexpected<E> error)  // NOLINT(google-explicit-constructor)
        : storage_(std::in_place_index<1>, std::move(error).error()) {}

    bool has_value() const noexcept { return storage_.index() == 0; }
    explicit operator bool() const noexcept { return has_value(); }

    T& value() & { return std::get<0>(storage_); }
    const T& value() const& { return std::get<0>(storage_); }
    T&& value() && { return std::get<0>(std::move(storage_)); }
    T& operator*() & { return value(); }
    const T& operator*() const& { return value(); }
    T&& operator*() && { return std::move(*this).value(); }
    T* operator->() { return &value(); }
    const T* operator->() const { return &value(); }

    const E& error() const& { return std::get<1>(storage_); }
    E&& error() && { return std::get<1>(std::move(storage_)); }

    template <class U>
    T value_or(U&& fallback) const& {
        return has_value() ? value() : static_cast<T>(std::forward<U>(fallback));
    }

private:
    std::variant<T, E> storage_;
};

template <class E>
class [[nodiscard]] Result<void, E> {
public:
    using value_type = void;
    using error_type = E;

    Result() = default;
    Result(Unexpected<E> error)  // NOLINT(google-explicit-constructor)
        : error_(std::move(error).error()), ok_(false) {}

    bool has_value() const noexcept { return ok_; }
    explicit operator bool() const noexcept { return ok_; }
    void value() const {}
    const E& error() const& { return error_; }
    E&& error() && { return std::move(error_); }

private:
    E error_{};
    bool ok_ = true;
};

using Status = Result<void>;

}  // namespace sim
