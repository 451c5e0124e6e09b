// SPDX-License-Identifier: GPL-2.0
/*
 * C side of rscst_disk.ko's sys layer (sys/scsi_pt.rs): SCSI devices found
 * by H:C:I:L and CDBs sent to them as the block layer's pass-through
 * requests, with the command's own pages as the data (no copy). What
 * differs between Linux 6.12 and 7 stays here: the end_io signature, how a
 * pass-through bio takes pages, where a kmalloc'ed bio keeps its vectors.
 */
#include <linux/blkdev.h>
#include <linux/blk-mq.h>
#include <linux/bio.h>
#include <linux/scatterlist.h>
#include <linux/slab.h>
#include <linux/version.h>
#include <scsi/scsi_cmnd.h>
#include <scsi/scsi_device.h>
#include <scsi/scsi_host.h>

struct scsi_device *rscst_sys_pt_lookup(unsigned int host, unsigned int channel, unsigned int id, u64 lun);
void rscst_sys_pt_put(struct scsi_device *sdev);
u8 rscst_sys_pt_type(struct scsi_device *sdev);
bool rscst_sys_pt_gone(struct scsi_device *sdev);
struct request *rscst_sys_pt_alloc(struct scsi_device *sdev, bool write, const u8 *cdb, unsigned int cdb_len,
				   unsigned int timeout_ms, int retries);
int rscst_sys_pt_map(struct request *rq, struct scatterlist *sgl, unsigned int nents, unsigned int len, bool write);
int rscst_sys_pt_map_kern(struct request *rq, void *buf, unsigned int len);
u64 rscst_sys_pt_max_bytes(struct scsi_device *sdev);
void rscst_sys_pt_free(struct request *rq);
void rscst_sys_pt_execute(struct request *rq, void *data, bool at_head);
int rscst_sys_pt_execute_sync(struct scsi_device *sdev, const u8 *cdb, unsigned int cdb_len, void *buf,
			      unsigned int len, unsigned int timeout_ms);

/* Linux 7 dropped nth_page: a range of pages is contiguous in the memory map. */
#ifndef nth_page
#define nth_page(page, n) ((page) + (n))
#endif

/* Rust (sys/scsi_pt.rs): a request of rscst_sys_pt_execute ended. */
void rscst_pt_done(void *data, int result, const u8 *sense, unsigned int sense_len, unsigned int resid);

/* The device at H:C:I:L with a reference (and its host driver's module), or NULL. */
struct scsi_device *rscst_sys_pt_lookup(unsigned int host, unsigned int channel, unsigned int id, u64 lun)
{
	struct Scsi_Host *shost = scsi_host_lookup(host);
	struct scsi_device *sdev;

	if (!shost)
		return NULL;
	sdev = scsi_device_lookup(shost, channel, id, lun);
	scsi_host_put(shost);
	return sdev;
}

void rscst_sys_pt_put(struct scsi_device *sdev)
{
	scsi_device_put(sdev);
}

/* The peripheral device type from the device's INQUIRY data. */
u8 rscst_sys_pt_type(struct scsi_device *sdev)
{
	return sdev->type;
}

/* Removed from the midlayer (or on its way out): nothing sent to it succeeds. */
bool rscst_sys_pt_gone(struct scsi_device *sdev)
{
	enum scsi_device_state s = READ_ONCE(sdev->sdev_state);

	return s == SDEV_CANCEL || s == SDEV_DEL;
}

/*
 * A pass-through request carrying the CDB, or an ERR_PTR (-ENODEV once the
 * device's queue is gone). May sleep for a tag.
 */
struct request *rscst_sys_pt_alloc(struct scsi_device *sdev, bool write, const u8 *cdb, unsigned int cdb_len,
				   unsigned int timeout_ms, int retries)
{
	struct request *rq;
	struct scsi_cmnd *scmd;

	if (cdb_len == 0 || cdb_len > sizeof(scmd->cmnd))
		return ERR_PTR(-EINVAL);
	rq = scsi_alloc_request(sdev->request_queue, write ? REQ_OP_DRV_OUT : REQ_OP_DRV_IN, 0);
	if (IS_ERR(rq))
		return rq;
	scmd = blk_mq_rq_to_pdu(rq);
	memcpy(scmd->cmnd, cdb, cdb_len);
	scmd->cmd_len = cdb_len;
	scmd->allowed = retries;
	rq->timeout = msecs_to_jiffies(timeout_ms);
	return rq;
}

static void rscst_sys_pt_bio_end(struct bio *bio)
{
	bio_uninit(bio);
	kfree(bio);
}

static struct bio *rscst_sys_pt_bio(unsigned int nr_vecs, bool write)
{
	struct bio *bio = bio_kmalloc(nr_vecs, GFP_NOIO);

	if (!bio)
		return NULL;
#if LINUX_VERSION_CODE >= KERNEL_VERSION(7, 0, 0)
	bio_init_inline(bio, NULL, nr_vecs, write ? REQ_OP_WRITE : REQ_OP_READ);
#else
	bio_init(bio, NULL, bio->bi_inline_vecs, nr_vecs, write ? REQ_OP_WRITE : REQ_OP_READ);
#endif
	bio->bi_end_io = rscst_sys_pt_bio_end;
	return bio;
}

/* Adds a page range within the queue's limits; returns the bytes taken. */
static unsigned int rscst_sys_pt_add_page(struct request *rq, struct bio *bio, struct page *page,
					  unsigned int len, unsigned int off)
{
#if LINUX_VERSION_CODE >= KERNEL_VERSION(7, 0, 0)
	/* blk_rq_append_bio checks the limits (and refuses what exceeds them). */
	return bio_add_page(bio, page, len, off);
#else
	return bio_add_pc_page(rq->q, bio, page, len, off);
#endif
}

/*
 * Ends the bios of a request that was never executed, each through its own
 * end_io: ours free the bio, blk_rq_map_kern's also their copy pages.
 */
static void rscst_sys_pt_unmap(struct request *rq)
{
	while (rq->bio) {
		struct bio *bio = rq->bio;

		rq->bio = bio->bi_next;
		bio->bi_next = NULL;
		bio->bi_status = BLK_STS_IOERR;
		bio_endio(bio);
	}
	rq->biotail = NULL;
}

/* Whether the first len bytes of the list are in ranges the device's DMA can take. */
static bool rscst_sys_pt_aligned(struct request *rq, struct scatterlist *sgl, unsigned int nents, unsigned int len)
{
	unsigned int align = blk_lim_dma_alignment_and_pad(&rq->q->limits);
	struct scatterlist *sg;
	unsigned int i;

	for_each_sg(sgl, sg, nents, i) {
		unsigned int n = min(sg->length, len);

		if (!len)
			break;
		if ((sg->offset & align) || (n & align))
			return false;
		len -= n;
	}
	return true;
}

/* The most bytes one request of the device moves. */
static u64 rscst_sys_pt_queue_max_bytes(struct request_queue *q)
{
	return (u64)queue_max_hw_sectors(q) << SECTOR_SHIFT;
}

u64 rscst_sys_pt_max_bytes(struct scsi_device *sdev)
{
	return rscst_sys_pt_queue_max_bytes(sdev->request_queue);
}

/*
 * Puts the first len bytes of the scatterlist into the request as bios on
 * its pages. 1 (and the request holds no bio) when the device cannot take
 * the pages as they are (ranges not aligned as its DMA wants, more
 * segments than it takes, gaps it refuses): the caller copies the data
 * into a buffer of its own. -EINVAL when the list is shorter than len or
 * the transfer is beyond what one request of the device moves, -ENOMEM
 * without memory; then too the request holds no bio.
 */
int rscst_sys_pt_map(struct request *rq, struct scatterlist *sgl, unsigned int nents, unsigned int len, bool write)
{
	struct scatterlist *sg;
	struct bio *bio = NULL;
	unsigned int i;
	int rc = 0;

	if (len > rscst_sys_pt_queue_max_bytes(rq->q))
		return -EINVAL;
	if (!rscst_sys_pt_aligned(rq, sgl, nents, len))
		return 1;
	for_each_sg(sgl, sg, nents, i) {
		unsigned int n = min(sg->length, len);
		unsigned int off = sg->offset;
		struct page *page = sg_page(sg);

		if (!len)
			break;
		len -= n;
		while (n) {
			unsigned int in_page = min_t(unsigned int, n, PAGE_SIZE - offset_in_page(off));
			struct page *p = nth_page(page, off >> PAGE_SHIFT);

			if (!bio) {
				bio = rscst_sys_pt_bio(bio_max_segs(nents - i + 1), write);
				if (!bio) {
					rc = -ENOMEM;
					goto fail;
				}
			}
			if (rscst_sys_pt_add_page(rq, bio, p, in_page, offset_in_page(off)) == in_page) {
				n -= in_page;
				off += in_page;
				continue;
			}
			/* The bio is full, or the device refuses the page there. */
			if (!bio->bi_vcnt || blk_rq_append_bio(rq, bio)) {
				rscst_sys_pt_bio_end(bio);
				bio = NULL;
				rc = 1;
				goto fail;
			}
			bio = NULL;
		}
	}
	if (bio && blk_rq_append_bio(rq, bio)) {
		rscst_sys_pt_bio_end(bio);
		bio = NULL;
		rc = 1;
		goto fail;
	}
	if (len) {
		rc = -EINVAL;
		goto fail;
	}
	return 0;
fail:
	if (bio)
		rscst_sys_pt_bio_end(bio);
	rscst_sys_pt_unmap(rq);
	return rc;
}

/*
 * Puts len bytes at buf (kmalloc'ed, at most RSCST_PT_BOUNCE_MAX: one bio of
 * at most BIO_MAX_VECS pages) into the request: the block layer copies them
 * to pages of its own where the device's DMA needs it. -EINVAL when the
 * request does not hold all of them (6.12 stops at the device's segment
 * limit without saying so); the request then holds no bio.
 */
int rscst_sys_pt_map_kern(struct request *rq, void *buf, unsigned int len)
{
	int rc;

	if (len > (BIO_MAX_VECS << PAGE_SHIFT))
		return -EINVAL;
#if LINUX_VERSION_CODE >= KERNEL_VERSION(7, 0, 0)
	rc = blk_rq_map_kern(rq, buf, len, GFP_NOIO);
#else
	rc = blk_rq_map_kern(rq->q, rq, buf, len, GFP_NOIO);
#endif
	if (rc)
		return rc;
	if (blk_rq_bytes(rq) != len) {
		rscst_sys_pt_unmap(rq);
		return -EINVAL;
	}
	return 0;
}

/* Frees a request that was never executed, and its bios. */
void rscst_sys_pt_free(struct request *rq)
{
	rscst_sys_pt_unmap(rq);
	blk_mq_free_request(rq);
}

/* Any context the block layer completes in (softirq, hard IRQ, a thread). */
#if LINUX_VERSION_CODE >= KERNEL_VERSION(7, 0, 0)
static enum rq_end_io_ret rscst_sys_pt_end_io(struct request *rq, blk_status_t status,
					      const struct io_comp_batch *iob)
#else
static enum rq_end_io_ret rscst_sys_pt_end_io(struct request *rq, blk_status_t status)
#endif
{
	struct scsi_cmnd *scmd = blk_mq_rq_to_pdu(rq);
	unsigned int sense_len = min_t(unsigned int, scmd->sense_len, SCSI_SENSE_BUFFERSIZE);

	int result = scmd->result;

	/* Ended before it reached the device (its queue refused it): no status came. */
	if (status != BLK_STS_OK && result == 0)
		result = DID_ERROR << 16;
	rscst_pt_done(rq->end_io_data, result, scmd->sense_buffer, sense_len, scmd->resid_len);
	return RQ_END_IO_FREE;
}

/* Sends the request; it ends in rscst_pt_done(data, ...) and is freed. */
void rscst_sys_pt_execute(struct request *rq, void *data, bool at_head)
{
	rq->end_io = rscst_sys_pt_end_io;
	rq->end_io_data = data;
	blk_execute_rq_nowait(rq, at_head);
}

/*
 * Sends a CDB reading at most len bytes into buf (kmalloc'ed) and waits:
 * returns the SCSI result (status byte, host byte) or a negative errno.
 */
int rscst_sys_pt_execute_sync(struct scsi_device *sdev, const u8 *cdb, unsigned int cdb_len, void *buf,
			      unsigned int len, unsigned int timeout_ms)
{
	return scsi_execute_cmd(sdev, cdb, REQ_OP_DRV_IN, buf, len, msecs_to_jiffies(timeout_ms), 3, NULL);
}
