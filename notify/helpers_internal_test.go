package notify

import (
	"time"

	"github.com/parcelguard/parcelguard"
)

func newTestMessage(created time.Time) *parcelguard.Message {
	return &parcelguard.Message{ID: "msg_1", IdempotencyKey: "deposit:grt_1:email", Kind: parcelguard.MessageDeposit,
		Channel: parcelguard.ChannelEmail, CreatedAt: created, DueAt: created}
}
