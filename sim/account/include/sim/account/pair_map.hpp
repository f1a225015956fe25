// SPDX-License-Identifier: Apache-2.0
#pragma once
// PairMap: an ordered map from (first, second) string pairs to a value that also finds every
// pair of one `second` in O(log n + k), for the registry's attachments, which are read from
// both sides (a policy's targets and a certificate's policies; a thing's principals and a
// principal's things). A connecting device asks by principal on every connect and publish, so
// a scan of every attachment in the account would grow with the fleet.

#include <cstddef>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace sim::account {

template <class Value>
class PairMap {
public:
    using Key = std::pair<std::string, std::string>;
    using Map = std::map<Key, Value>;
    using const_iterator = typename Map::const_iterator;

    const_iterator begin() const { return by_first_.begin(); }
    const_iterator end() const { return by_first_.end(); }
    bool empty() const { return by_first_.empty(); }
    std::size_t size() const { return by_first_.size(); }
    const_iterator find(const Key& key) const { return by_first_.find(key); }
    bool contains(const Key& key) const { return by_first_.count(key) != 0; }

    /// Adds `key` with `value`; false (nothing changed) when `key` is present.
    bool insert(const Key& key, Value value) {
        if (!by_first_.emplace(key, std::move(value)).second) {
            return false;
        }
        by_second_.emplace(key.second, key.first);
        return true;
    }
    /// Adds `key` or replaces its value.
    void assign(const Key& key, Value value) {
        by_first_[key] = std::move(value);
        by_second_.emplace(key.second, key.first);
    }
    /// Removes `key`; the number removed (0 or 1).
    std::size_t erase(const Key& key) {
        by_second_.erase({key.second, key.first});
        return by_first_.erase(key);
    }
    /// Removes the pair at `it`; the iterator after it.
    const_iterator erase(const_iterator it) {
        by_second_.erase({it->first.second, it->first.first});
        return by_first_.erase(it);
    }
    void clear() {
        by_first_.clear();
        by_second_.clear();
    }

    /// The pairs whose second is `second`, ordered by first.
    std::vector<const_iterator> WithSecond(std::string_view second) const {
        std::vector<const_iterator> out;
        for (auto it = by_second_.lower_bound(second);
             it != by_second_.end() && std::string_view(it->first) == second; ++it) {
            out.push_back(by_first_.find(Key{it->second, it->first}));
        }
        return out;
    }

private:
    // (second, first), ordered so that one second's pairs are adjacent.
    struct SecondFirst {
        using is_transparent = void;
        bool operator()(const Key& a, const Key& b) const { return a < b; }
        // compare(), not <: clang 14 cannot rewrite < through libstdc++ 12's operator<=>.
        bool operator()(const Key& a, std::string_view b) const {
            return std::string_view(a.first).compare(b) < 0;
        }
        bool operator()(std::string_view a, const Key& b) const {
            return a.compare(std::string_view(b.first)) < 0;
        }
    };
    Map by_first_;
    std::set<Key, SecondFirst> by_second_;
};

}  // namespace sim::account
