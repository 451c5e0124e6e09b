// SPDX-License-Identifier: GPL-2.0
/*
 * C wrappers for the block layer's macros and inline functions that
 * rscst_vdisk.ko's Rust calls (sys/bio.rs): the open flags and request
 * flags are macros with casts bindgen cannot translate, and the queue
 * limits are read through inline functions.
 */
#include <linux/blkdev.h>
#include <linux/bio.h>
#include <linux/version.h>

struct file *rscst_sys_bdev_open(const char *path, bool write, void *holder);
unsigned int rscst_sys_bdev_logical_block_size(struct block_device *bdev);
u64 rscst_sys_bdev_nr_bytes(struct block_device *bdev);
int rscst_sys_bdev_zero_out(struct block_device *bdev, sector_t sector, sector_t nr_sects);
bool rscst_sys_bdev_zeroes_deallocate(struct block_device *bdev);
bool rscst_sys_bdev_gone(struct block_device *bdev);
struct bio *rscst_sys_bio_alloc(struct block_device *bdev, unsigned short nr_vecs, unsigned int kind,
				sector_t sector, bio_end_io_t *end_io, void *private);
void *rscst_sys_bio_private(struct bio *bio);
u8 rscst_sys_bio_status(struct bio *bio);

/* Opened exclusively for holder (a mounted filesystem or another claim refuses it). */
struct file *rscst_sys_bdev_open(const char *path, bool write, void *holder)
{
	blk_mode_t mode = BLK_OPEN_READ | (write ? BLK_OPEN_WRITE : 0);

	return bdev_file_open_by_path(path, mode, holder, NULL);
}

unsigned int rscst_sys_bdev_logical_block_size(struct block_device *bdev)
{
	return bdev_logical_block_size(bdev);
}

u64 rscst_sys_bdev_nr_bytes(struct block_device *bdev)
{
	return bdev_nr_bytes(bdev);
}

/*
 * Whether the device takes WRITE ZEROES that may deallocate: Linux 7 says so
 * apart (bdev_write_zeroes_unmap_sectors); 6.12 knows only WRITE ZEROES.
 */
bool rscst_sys_bdev_zeroes_deallocate(struct block_device *bdev)
{
#if LINUX_VERSION_CODE >= KERNEL_VERSION(7, 0, 0)
	return bdev_write_zeroes_unmap_sectors(bdev) > 0;
#else
	return bdev_write_zeroes_sectors(bdev) > 0;
#endif
}

/* The disk was deleted (del_gendisk marks it dead): no I/O can succeed. */
bool rscst_sys_bdev_gone(struct block_device *bdev)
{
	return test_bit(GD_DEAD, &bdev->bd_disk->state);
}

/* Zeros, deallocated where the device can (no BLKDEV_ZERO_NOUNMAP). */
int rscst_sys_bdev_zero_out(struct block_device *bdev, sector_t sector, sector_t nr_sects)
{
	return blkdev_issue_zeroout(bdev, sector, nr_sects, GFP_NOIO, 0);
}

/* The kinds sys/bio.rs names (BioKind). */
enum { RSCST_BIO_READ, RSCST_BIO_WRITE, RSCST_BIO_WRITE_FUA, RSCST_BIO_FLUSH };

/*
 * A bio of up to nr_vecs pages at sector, ending in end_io with private.
 * From fs_bio_set with GFP_NOIO: it may wait for a free bio, never fails.
 */
struct bio *rscst_sys_bio_alloc(struct block_device *bdev, unsigned short nr_vecs, unsigned int kind,
				sector_t sector, bio_end_io_t *end_io, void *private)
{
	static const blk_opf_t opf[] = {
		[RSCST_BIO_READ] = REQ_OP_READ,
		[RSCST_BIO_WRITE] = REQ_OP_WRITE,
		[RSCST_BIO_WRITE_FUA] = REQ_OP_WRITE | REQ_SYNC | REQ_FUA,
		[RSCST_BIO_FLUSH] = REQ_OP_WRITE | REQ_SYNC | REQ_PREFLUSH,
	};
	struct bio *bio;

	if (WARN_ON_ONCE(kind >= ARRAY_SIZE(opf)))
		return NULL;
	bio = bio_alloc(bdev, nr_vecs, opf[kind], GFP_NOIO);
	bio->bi_iter.bi_sector = sector;
	bio->bi_end_io = end_io;
	bio->bi_private = private;
	return bio;
}

void *rscst_sys_bio_private(struct bio *bio)
{
	return bio->bi_private;
}

u8 rscst_sys_bio_status(struct bio *bio)
{
	return (__force u8)bio->bi_status;
}
