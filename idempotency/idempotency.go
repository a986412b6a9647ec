// Package idempotency makes submitting mutations safe to replay: a client
// sends a key with the mutation, the first result is recorded under it in
// the same transaction that makes the result, and a replay of the key (after
// a lost response) returns that result and creates nothing. Keys belong to
// one user; another user's key with the same text is a different key.
//
// Keys are stored as their SM3 digest: compared byte for byte on every
// database (MySQL's default collation would take "Key-aB" and "key-Ab" for
// the same key), and of one length whatever the client sends. With the key
// goes a digest of the request it came with: the same key sent with another
// request is refused rather than answered with an unrelated result.
package idempotency

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"gorm.io/gorm"

	"govmobile/gm"
	"govmobile/models"
)

// MaxKeyLength bounds a key.
const MaxKeyLength = 64

// ErrUsed reports, from Claim, that the user has used the key before: the
// transaction should be abandoned and the first result looked up.
var ErrUsed = errors.New("idempotency key used")

// Check refuses a key that is too long or padded with spaces; "" means no key.
func Check(key string) error {
	if utf8.RuneCountInString(key) > MaxKeyLength || strings.TrimSpace(key) != key {
		return models.InvalidField("idempotencyKey", fmt.Sprintf("幂等键不能超过%d个字符，且首尾不能有空格。", MaxKeyLength))
	}
	return nil
}

// digest is how a key, or a request, is stored.
func digest(parts ...string) string { return gm.SM3Hex([]byte(strings.Join(parts, "\x00"))) }

// Claim records the key for operation op and its request (the operation's
// arguments, in a fixed order) inside tx; ErrUsed when the user has used the
// key before. No key, nothing recorded.
func Claim(tx *gorm.DB, userID uint64, key, op string, request ...string) error {
	if key == "" {
		return nil
	}
	err := tx.Create(&models.IdempotencyKey{UserID: userID, Key: digest(key), Operation: op,
		Request: digest(append([]string{op}, request...)...), CreatedAt: time.Now().UTC()}).Error
	if errors.Is(err, gorm.ErrDuplicatedKey) {
		return ErrUsed
	}
	return err
}

// Settle stores the result of the operation under the claimed key.
func Settle(tx *gorm.DB, userID uint64, key string, resultID uint64) error {
	if key == "" {
		return nil
	}
	return tx.Model(&models.IdempotencyKey{}).Where(&models.IdempotencyKey{UserID: userID, Key: digest(key)}).
		UpdateColumn("result_id", resultID).Error
}

// Result is the ID first recorded under the user's key for op and the same
// request. A key used for another operation or another request is
// BAD_USER_INPUT.
func Result(ctx context.Context, db *gorm.DB, userID uint64, key, op string, request ...string) (uint64, error) {
	var k models.IdempotencyKey
	if err := db.WithContext(ctx).Where(&models.IdempotencyKey{UserID: userID, Key: digest(key)}).First(&k).Error; err != nil {
		return 0, err
	}
	if k.Operation != op || k.Request != digest(append([]string{op}, request...)...) {
		return 0, models.InvalidField("idempotencyKey", "这个幂等键已用于另一个请求，请为新的请求换一个幂等键。")
	}
	return k.ResultID, nil
}
